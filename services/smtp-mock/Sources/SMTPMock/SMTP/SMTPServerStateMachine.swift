import Common

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A message received over SMTP: the envelope and the source, dot-unstuffed, CRLF line ends.
struct ReceivedMail: Sendable, Equatable {
    var sender: String
    var recipients: [String]
    var data: [UInt8]
}

/// The server side of an SMTP session (RFC 5321 with EHLO, PIPELINING, SIZE, 8BITMIME,
/// STARTTLS (RFC 3207) and AUTH PLAIN/LOGIN (RFC 4954)), as a pure state machine: it takes lines
/// and returns replies and actions, so every path (and every hostile input) is tested without a
/// socket. ``SMTPServerHandler`` runs it on a connection.
///
/// Hostile input gets a 5xx, never a crash: lines over the limit, bare LF (refused in commands;
/// a message with one is refused at the end of DATA, and only `CRLF.CRLF` ends DATA, so no
/// message can be smuggled behind a bare-LF terminator), oversize messages, too many recipients,
/// commands out of order. After ``maximumErrors`` errors the connection is closed.
struct SMTPServerStateMachine: Sendable {
    struct Configuration: Sendable {
        /// The name in the greeting and EHLO.
        var hostname: String
        /// `SIZE`: the largest message accepted.
        var maxMessageBytes: Int
        /// Recipients per message.
        var maxRecipients: Int
        /// Whether STARTTLS can be offered (a certificate is configured).
        var tlsAvailable: Bool
        /// When set, AUTH is offered and required before MAIL.
        var credentials: (username: String, password: String)?
    }

    /// What the connection does with a line's outcome.
    enum Action: Sendable, Equatable {
        /// Write the reply.
        case reply(SMTPReply)
        /// Write the reply, then close.
        case replyAndClose(SMTPReply)
        /// Write the reply (220), discard anything already received, then start TLS.
        case startTLS(SMTPReply)
        /// Store the message, then call ``delivered(_:)`` and write its reply; read nothing else meanwhile.
        case deliver(ReceivedMail)
        /// Nothing to write (a line of message data).
        case none
    }

    private enum Phase: Sendable, Equatable {
        case awaitingHello
        case ready
        case authLoginUsername
        case authLoginPassword(username: String)
        case authPlainResponse
        case mail(sender: String, recipients: [String])
        case data(sender: String, recipients: [String])
        case delivering
        case closed
    }

    /// Errors after which the connection is closed (a client that keeps sending garbage).
    static let maximumErrors = 10
    /// The longest command line, CRLF excluded (RFC 5321 §4.5.3.1.4 allows 512 with it).
    static let maximumCommandLength = 510
    /// The longest text line in DATA, CRLF excluded (RFC 5321 §4.5.3.1.6: 1000 with it).
    static let maximumTextLineLength = 998

    let configuration: Configuration
    private var phase: Phase = .awaitingHello
    private var extended = false
    private(set) var tls: Bool
    private var authenticated = false
    private var errors = 0
    private var message: [UInt8] = []
    /// Why the message in DATA will be refused at its end (too big, a bare LF, a line too long).
    private var dataProblem: SMTPReply?
    /// Whether the previous data line ended in a bare LF: a `.` after it is not `CRLF.CRLF`.
    private var previousBareLF = false

    init(configuration: Configuration, tls: Bool = false) {
        self.configuration = configuration
        self.tls = tls
    }

    /// The greeting, written when the connection opens.
    var greeting: SMTPReply { SMTPReply(220, "\(self.configuration.hostname) ESMTP Registrar SMTP mock") }

    /// Whether the next line is message data (which may be longer than a command).
    var inData: Bool {
        if case .data = self.phase { return true }
        return false
    }

    /// The longest line accepted in the current phase.
    var maximumLineLength: Int { self.inData ? Self.maximumTextLineLength : Self.maximumCommandLength }

    /// Takes one line, without its line end; `bareLF` when it ended in LF alone.
    mutating func receive(line: ArraySlice<UInt8>, bareLF: Bool) -> Action {
        switch self.phase {
        case .data(let sender, let recipients):
            return self.receiveData(line: line, bareLF: bareLF, sender: sender, recipients: recipients)
        case .delivering, .closed:
            return .none
        default:
            if bareLF { return self.error(SMTPReply(500, "5.5.2 Bare LF is not allowed; end lines with CRLF")) }
            return self.command(String(decoding: line, as: UTF8.self))
        }
    }

    /// A line longer than ``maximumLineLength`` arrived (the handler dropped it); `bareLF` tells
    /// how it ended, nil while its end has not arrived (then ``skippedLineEnded(bareLF:)`` follows).
    mutating func lineTooLong(bareLF: Bool?) -> Action {
        if self.inData {
            self.dataProblem = self.dataProblem ?? SMTPReply(554, "5.6.0 A line of the message is longer than 1000 octets")
            if let bareLF { self.previousBareLF = bareLF }
            return .none
        }
        return self.error(SMTPReply(500, "5.5.2 Line too long"))
    }

    /// The end of a line dropped as too long arrived: a `.` right after a bare LF must not end DATA.
    mutating func skippedLineEnded(bareLF: Bool) {
        if self.inData { self.previousBareLF = bareLF }
    }

    /// The message handed over by ``Action/deliver(_:)`` was stored (or not).
    mutating func delivered(_ stored: Bool) -> SMTPReply {
        guard self.phase == .delivering else { return SMTPReply(503, "5.5.1 Bad sequence of commands") }
        self.phase = .ready
        return stored ? SMTPReply(250, "2.0.0 OK: message accepted") : SMTPReply(451, "4.3.0 The message could not be stored; try again later")
    }

    /// TLS is up after ``Action/startTLS(_:)``: the session starts over (RFC 3207 §4.2).
    mutating func tlsEstablished() {
        self.tls = true
        self.phase = .awaitingHello
        self.extended = false
        self.authenticated = false
    }

    // MARK: - Commands

    private mutating func command(_ line: String) -> Action {
        let verbEnd = line.firstIndex(of: " ") ?? line.endIndex
        let verb = line[..<verbEnd].uppercased()
        let argument = String(line[verbEnd...].drop { $0 == " " })

        switch self.phase {
        case .authLoginUsername:
            guard line != "*" else { return self.cancelAuth() }
            guard let username = Self.decodeBase64(line) else { return self.cancelAuth(invalid: true) }
            self.phase = .authLoginPassword(username: username)
            return .reply(SMTPReply(334, "UGFzc3dvcmQ6"))
        case .authLoginPassword(let username):
            guard line != "*" else { return self.cancelAuth() }
            guard let password = Self.decodeBase64(line) else { return self.cancelAuth(invalid: true) }
            return self.finishAuth(username: username, password: password)
        case .authPlainResponse:
            guard line != "*" else { return self.cancelAuth() }
            return self.authPlain(line)
        default:
            break
        }

        switch verb {
        case "EHLO", "HELO":
            guard !argument.isEmpty else { return self.error(SMTPReply(501, "5.5.4 \(verb) needs a domain")) }
            self.phase = .ready
            self.extended = verb == "EHLO"
            guard self.extended else { return .reply(SMTPReply(250, self.configuration.hostname)) }
            var lines = [self.configuration.hostname, "PIPELINING", "SIZE \(self.configuration.maxMessageBytes)", "8BITMIME", "ENHANCEDSTATUSCODES"]
            if self.configuration.tlsAvailable && !self.tls { lines.append("STARTTLS") }
            if self.configuration.credentials != nil { lines.append("AUTH PLAIN LOGIN") }
            return .reply(SMTPReply(code: 250, lines: lines))
        case "NOOP":
            return .reply(SMTPReply(250, "2.0.0 OK"))
        case "RSET":
            if self.phase != .awaitingHello { self.phase = .ready }
            return .reply(SMTPReply(250, "2.0.0 OK"))
        case "QUIT":
            self.phase = .closed
            return .replyAndClose(SMTPReply(221, "2.0.0 Bye"))
        case "VRFY":
            return .reply(SMTPReply(252, "2.1.5 Cannot verify the user, but will accept the message"))
        case "HELP":
            return .reply(SMTPReply(214, "2.0.0 EHLO HELO MAIL RCPT DATA RSET NOOP QUIT STARTTLS AUTH"))
        case "STARTTLS":
            guard argument.isEmpty else { return self.error(SMTPReply(501, "5.5.4 STARTTLS takes no argument")) }
            guard self.configuration.tlsAvailable, !self.tls else { return self.error(SMTPReply(454, "4.7.0 TLS not available")) }
            guard self.phase != .awaitingHello else { return self.error(SMTPReply(503, "5.5.1 EHLO first")) }
            self.phase = .awaitingHello
            return .startTLS(SMTPReply(220, "2.0.0 Ready to start TLS"))
        case "AUTH":
            return self.auth(argument)
        case "MAIL":
            return self.mail(argument)
        case "RCPT":
            return self.rcpt(argument)
        case "DATA":
            guard argument.isEmpty else { return self.error(SMTPReply(501, "5.5.4 DATA takes no argument")) }
            guard case .mail(let sender, let recipients) = self.phase else { return self.error(SMTPReply(503, "5.5.1 MAIL first")) }
            guard !recipients.isEmpty else { return self.error(SMTPReply(503, "5.5.1 RCPT first")) }
            self.phase = .data(sender: sender, recipients: recipients)
            self.message = []
            self.dataProblem = nil
            self.previousBareLF = false
            return .reply(SMTPReply(354, "End data with <CR><LF>.<CR><LF>"))
        default:
            return self.error(SMTPReply(500, "5.5.2 Command unrecognized"))
        }
    }

    private mutating func mail(_ argument: String) -> Action {
        guard self.phase != .awaitingHello else { return self.error(SMTPReply(503, "5.5.1 EHLO first")) }
        guard self.phase == .ready else { return self.error(SMTPReply(503, "5.5.1 A transaction is already open")) }
        if self.configuration.credentials != nil && !self.authenticated {
            return self.error(SMTPReply(530, "5.7.0 Authentication required"))
        }
        guard let (sender, parameters) = Self.path(argument, prefix: "FROM:") else {
            return self.error(SMTPReply(501, "5.5.4 Syntax: MAIL FROM:<address>"))
        }
        for parameter in parameters {
            let pair = parameter.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            switch pair[0].uppercased() {
            case "SIZE":
                guard pair.count == 2, let size = Int(pair[1]), size >= 0 else { return self.error(SMTPReply(501, "5.5.4 Bad SIZE")) }
                guard size <= self.configuration.maxMessageBytes else {
                    return self.error(SMTPReply(552, "5.3.4 The message is larger than \(self.configuration.maxMessageBytes) octets"))
                }
            case "BODY":
                guard pair.count == 2, ["7BIT", "8BITMIME"].contains(pair[1].uppercased()) else {
                    return self.error(SMTPReply(501, "5.5.4 Bad BODY"))
                }
            default:
                return self.error(SMTPReply(555, "5.5.4 Unsupported parameter \(pair[0].prefix(40))"))
            }
        }
        self.phase = .mail(sender: sender, recipients: [])
        return .reply(SMTPReply(250, "2.1.0 OK"))
    }

    private mutating func rcpt(_ argument: String) -> Action {
        guard case .mail(let sender, var recipients) = self.phase else { return self.error(SMTPReply(503, "5.5.1 MAIL first")) }
        guard let (recipient, parameters) = Self.path(argument, prefix: "TO:"), !recipient.isEmpty, parameters.isEmpty else {
            return self.error(SMTPReply(501, "5.5.4 Syntax: RCPT TO:<address>"))
        }
        guard recipients.count < self.configuration.maxRecipients else { return .reply(SMTPReply(452, "4.5.3 Too many recipients")) }
        recipients.append(recipient)
        self.phase = .mail(sender: sender, recipients: recipients)
        return .reply(SMTPReply(250, "2.1.5 OK"))
    }

    private mutating func receiveData(line: ArraySlice<UInt8>, bareLF: Bool, sender: String, recipients: [String]) -> Action {
        defer { self.previousBareLF = bareLF }
        if !bareLF && !self.previousBareLF && line.count == 1 && line.first == UInt8(ascii: ".") {
            let problem = self.dataProblem
            let mail = ReceivedMail(sender: sender, recipients: recipients, data: self.message)
            self.message = []
            self.dataProblem = nil
            if let problem {
                self.phase = .ready
                return self.error(problem)
            }
            self.phase = .delivering
            return .deliver(mail)
        }
        if bareLF {
            self.dataProblem = self.dataProblem ?? SMTPReply(554, "5.6.0 Bare LF in the message; end lines with CRLF")
        }
        guard self.dataProblem == nil else { return .none }  // refused anyway: keep nothing
        let content = line.first == UInt8(ascii: ".") ? line.dropFirst() : line  // dot-unstuffing
        guard self.message.count + content.count + 2 <= self.configuration.maxMessageBytes else {
            self.dataProblem = SMTPReply(552, "5.3.4 The message is larger than \(self.configuration.maxMessageBytes) octets")
            self.message = []
            return .none
        }
        self.message += content
        self.message += [13, 10]
        return .none
    }

    // MARK: - AUTH

    private mutating func auth(_ argument: String) -> Action {
        guard self.configuration.credentials != nil else { return self.error(SMTPReply(502, "5.5.1 AUTH not available")) }
        guard self.phase == .ready else { return self.error(SMTPReply(503, "5.5.1 EHLO first, and not in a transaction")) }
        guard !self.authenticated else { return self.error(SMTPReply(503, "5.5.1 Already authenticated")) }
        let words = argument.split(separator: " ").map(String.init)
        switch words.first?.uppercased() {
        case "PLAIN":
            if words.count == 2 { return self.authPlain(words[1]) }
            self.phase = .authPlainResponse
            return .reply(SMTPReply(334, ""))
        case "LOGIN":
            if words.count == 2 {
                guard let username = Self.decodeBase64(words[1]) else { return self.cancelAuth(invalid: true) }
                self.phase = .authLoginPassword(username: username)
                return .reply(SMTPReply(334, "UGFzc3dvcmQ6"))
            }
            self.phase = .authLoginUsername
            return .reply(SMTPReply(334, "VXNlcm5hbWU6"))
        default:
            return self.error(SMTPReply(504, "5.5.4 Unrecognized authentication type"))
        }
    }

    private mutating func authPlain(_ token: String) -> Action {
        guard let decoded = Self.decodeBase64(token) else { return self.cancelAuth(invalid: true) }
        let parts = decoded.split(separator: "\0", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3 else { return self.cancelAuth(invalid: true) }
        return self.finishAuth(username: parts[1], password: parts[2])
    }

    private mutating func finishAuth(username: String, password: String) -> Action {
        self.phase = .ready
        guard let expected = self.configuration.credentials,
            [Self.constantTimeEqual(username, expected.username), Self.constantTimeEqual(password, expected.password)] == [true, true]
        else { return self.error(SMTPReply(535, "5.7.8 Authentication credentials invalid")) }
        self.authenticated = true
        return .reply(SMTPReply(235, "2.7.0 Authentication successful"))
    }

    private mutating func cancelAuth(invalid: Bool = false) -> Action {
        self.phase = .ready
        return self.error(invalid ? SMTPReply(501, "5.5.2 Cannot decode the response") : SMTPReply(501, "5.7.0 Authentication cancelled"))
    }

    // MARK: - Helpers

    private mutating func error(_ reply: SMTPReply) -> Action {
        self.errors += 1
        guard self.errors < Self.maximumErrors else {
            self.phase = .closed
            return .replyAndClose(SMTPReply(421, "4.7.0 Too many errors; closing"))
        }
        return .reply(reply)
    }

    /// `FROM:<address> PARAM=value …` → the address and the parameters; `<>` is the null sender.
    static func path(_ argument: String, prefix: String) -> (String, [String])? {
        guard argument.uppercased().hasPrefix(prefix) else { return nil }
        let rest = argument.dropFirst(prefix.count).drop { $0 == " " }
        guard rest.first == "<", let close = rest.firstIndex(of: ">") else { return nil }
        let address = String(rest[rest.index(after: rest.startIndex)..<close])
        guard address.utf8.count <= 254, !address.contains(where: { $0 == "<" || $0 == " " || $0.asciiValue.map { $0 < 32 } ?? false })
        else { return nil }
        let parameters = rest[rest.index(after: close)...].split(separator: " ").map(String.init)
        return (address, parameters)
    }

    static func decodeBase64(_ text: String) -> String? {
        guard let data = Data(base64Encoded: text) else { return nil }
        return String(data: data, encoding: .utf8)
    }

    static func constantTimeEqual(_ lhs: String, _ rhs: String) -> Bool {
        let (left, right) = (Array(lhs.utf8), Array(rhs.utf8))
        var difference = UInt8(left.count == right.count ? 0 : 1)
        for index in 0..<min(left.count, right.count) { difference |= left[index] ^ right[index] }
        return difference == 0
    }
}
