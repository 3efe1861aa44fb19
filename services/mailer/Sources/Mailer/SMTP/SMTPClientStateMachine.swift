import Common

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The client side of an SMTP session (RFC 5321, with EHLO, PIPELINING, SIZE, STARTTLS and
/// AUTH PLAIN/LOGIN), as a pure state machine: it takes replies and returns what to do, so every
/// path is tested without a socket. ``SMTPTransport`` runs it on a channel.
///
/// A session goes greeting → EHLO → (STARTTLS → EHLO) → (AUTH) → ready, then carries transactions
/// one after another. A transaction that ends in anything but 250 leaves the session unusable
/// (the caller closes it) rather than resetting it.
struct SMTPClientStateMachine: Sendable {
    /// How the session is protected.
    enum Security: Sendable, Equatable {
        /// No TLS at all (`SMTP_STARTTLS=off`).
        case plain
        /// STARTTLS after the first EHLO; when `required`, a relay that does not offer it is refused.
        case startTLS(required: Bool)
        /// TLS from the first byte (`smtps://`).
        case implicitTLS
    }

    /// AUTH credentials.
    struct Credentials: Sendable, Equatable {
        var username: String
        var password: String
    }

    /// What the connection does next.
    enum Action: Sendable, Equatable {
        /// Write these command lines (each ends in CRLF).
        case send(String)
        /// Put TLS on the connection, then call ``tlsEstablished()``.
        case startTLS
        /// The session is ready for transactions.
        case sessionReady
        /// The relay said 354: write the message (``dataPayload(_:)``).
        case sendMessage
        /// The transaction ended; when `reusable` is false the session must be closed.
        case finished(DeliveryOutcome, reusable: Bool)
        /// The session cannot go on (a bad greeting, TLS or AUTH refused …): close it.
        case fail(String)
        /// Wait for the next reply.
        case none
    }

    private enum AuthStep: Sendable, Equatable {
        case plain
        case loginUsername
        case loginPassword
    }

    private enum State: Sendable, Equatable {
        case awaitingGreeting
        case awaitingEHLO(afterTLS: Bool)
        case awaitingHELO
        case awaitingStartTLS
        case negotiatingTLS
        case awaitingAuth(AuthStep)
        case ready
        /// `unsent` are commands still to send one by one (no PIPELINING); `outstanding` replies are
        /// awaited, the last of which answers DATA.
        case transaction(unsent: [String], outstanding: Int, failure: SMTPReply?)
        case awaitingDataResult
        case closed
    }

    let heloName: String
    let security: Security
    let credentials: Credentials?
    private var state: State = .awaitingGreeting
    private var tls = false
    /// The relay's EHLO keywords (upper-cased), with their parameters.
    private(set) var capabilities: [String: [String]] = [:]

    init(heloName: String, security: Security, credentials: Credentials?) {
        self.heloName = heloName
        self.security = security
        self.credentials = credentials
        self.tls = security == .implicitTLS
    }

    /// Whether a transaction may start.
    var isReady: Bool { self.state == .ready }

    /// The first refusal in the transaction in progress (a pipelined MAIL or RCPT), if any: what
    /// the outcome is when the relay closes the connection before answering the rest.
    var transactionFailure: SMTPReply? {
        if case .transaction(_, _, let failure) = self.state { return failure }
        return nil
    }

    /// The relay's `SIZE` limit, if it announced one.
    var sizeLimit: Int? { self.capabilities["SIZE"]?.first.flatMap(Int.init).flatMap { $0 > 0 ? $0 : nil } }

    /// Takes the next reply from the relay.
    mutating func receive(_ reply: SMTPReply) -> Action {
        switch self.state {
        case .awaitingGreeting:
            guard reply.code == 220 else { return self.fail("the relay's greeting was \(reply)") }
            return self.sendEHLO(afterTLS: self.tls)

        case .awaitingEHLO:
            if reply.code == 500 || reply.code == 502 {
                // An old relay without ESMTP: HELO, no extensions (so no STARTTLS and no AUTH).
                self.state = .awaitingHELO
                return .send("HELO \(self.heloName)\r\n")
            }
            guard reply.isPositive else { return self.fail("EHLO was refused: \(reply)") }
            self.capabilities = Self.capabilities(of: reply)
            return self.afterGreeting()

        case .awaitingHELO:
            guard reply.isPositive else { return self.fail("HELO was refused: \(reply)") }
            self.capabilities = [:]
            return self.afterGreeting()

        case .awaitingStartTLS:
            if reply.code != 220, self.security == .startTLS(required: false), reply.code == 454 {
                // `optional`: go on in clear (and never AUTH, see afterGreeting).
                self.capabilities["STARTTLS"] = nil
                return self.afterGreeting()
            }
            guard reply.code == 220 else { return self.fail("STARTTLS was refused: \(reply)") }
            self.state = .negotiatingTLS
            return .startTLS

        case .negotiatingTLS:
            return self.fail("a reply arrived during the TLS handshake: \(reply)")

        case .awaitingAuth(let step):
            return self.authenticate(step, reply: reply)

        case .ready:
            // 421 before closing an idle session, or a stray reply: the session is over.
            return self.fail("unexpected reply while idle: \(reply)")

        case .transaction(var unsent, let outstanding, var failure):
            if reply.code == 421 {
                // The relay is closing the connection: nothing more will be answered.
                self.state = .closed
                return .finished(.deferred((failure ?? reply).description), reusable: false)
            }
            let last = outstanding == 1 && unsent.isEmpty
            if last && failure == nil && reply.code == 354 {
                self.state = .awaitingDataResult
                return .sendMessage
            }
            if failure == nil && !reply.isPositive && !(last && reply.code == 354) { failure = reply }
            if outstanding > 1 {
                self.state = .transaction(unsent: unsent, outstanding: outstanding - 1, failure: failure)
                return .none
            }
            if let failure {
                self.state = .closed
                return .finished(Self.outcome(of: failure), reusable: false)
            }
            guard !unsent.isEmpty else {
                self.state = .closed
                return .finished(.deferred("DATA was answered \(reply)"), reusable: false)
            }
            let next = unsent.removeFirst()
            self.state = .transaction(unsent: unsent, outstanding: 1, failure: nil)
            return .send(next)

        case .awaitingDataResult:
            if reply.isPositive {
                self.state = .ready
                return .finished(.delivered, reusable: true)
            }
            self.state = .closed
            return .finished(Self.outcome(of: reply), reusable: false)

        case .closed:
            return .none
        }
    }

    /// TLS is up (after ``Action/startTLS``): EHLO again, as RFC 3207 requires.
    mutating func tlsEstablished() -> Action {
        guard self.state == .negotiatingTLS else { return self.fail("TLS finished outside STARTTLS") }
        self.tls = true
        self.capabilities = [:]
        return self.sendEHLO(afterTLS: true)
    }

    /// Starts a transaction for one message of `size` bytes from `sender` to `recipients`;
    /// pipelined (RFC 2920) when the relay offers PIPELINING.
    mutating func startTransaction(from sender: String, to recipients: [String], size: Int) -> Action {
        guard self.state == .ready, !recipients.isEmpty else { return self.fail("a transaction started while the session was not ready") }
        let sizeParameter = self.capabilities["SIZE"] != nil ? " SIZE=\(size)" : ""
        let commands = ["MAIL FROM:<\(sender)>\(sizeParameter)\r\n"] + recipients.map { "RCPT TO:<\($0)>\r\n" } + ["DATA\r\n"]
        if self.capabilities["PIPELINING"] != nil {
            self.state = .transaction(unsent: [], outstanding: commands.count, failure: nil)
            return .send(commands.joined())
        }
        self.state = .transaction(unsent: Array(commands.dropFirst()), outstanding: 1, failure: nil)
        return .send(commands[0])
    }

    /// `QUIT`, when the session is closed politely.
    mutating func quit() -> Action {
        self.state = .closed
        return .send("QUIT\r\n")
    }

    /// The DATA payload of `message` (CRLF line ends): lines that start with `.` get one more
    /// (RFC 5321 §4.5.2), bare LFs become CRLF, and `CRLF.CRLF` ends it.
    static func dataPayload(_ message: String) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(message.utf8.count + 64)
        var atLineStart = true
        var previous: UInt8 = 0
        for byte in message.utf8 {
            if byte == UInt8(ascii: "\n") && previous != UInt8(ascii: "\r") { bytes.append(UInt8(ascii: "\r")) }
            if atLineStart && byte == UInt8(ascii: ".") { bytes.append(UInt8(ascii: ".")) }
            bytes.append(byte)
            atLineStart = byte == UInt8(ascii: "\n")
            previous = byte
        }
        if !atLineStart { bytes += Array("\r\n".utf8) }
        bytes += Array(".\r\n".utf8)
        return bytes
    }

    // MARK: - Steps

    private mutating func sendEHLO(afterTLS: Bool) -> Action {
        self.state = .awaitingEHLO(afterTLS: afterTLS)
        return .send("EHLO \(self.heloName)\r\n")
    }

    /// After EHLO (or HELO): STARTTLS, then AUTH, as configured and offered.
    private mutating func afterGreeting() -> Action {
        if case .startTLS(let required) = self.security, !self.tls {
            if self.capabilities["STARTTLS"] != nil {
                self.state = .awaitingStartTLS
                return .send("STARTTLS\r\n")
            }
            if required { return self.fail("the relay does not offer STARTTLS (SMTP_STARTTLS=required)") }
        }
        guard let credentials = self.credentials else {
            self.state = .ready
            return .sessionReady
        }
        guard self.tls else { return self.fail("the relay offers no STARTTLS, and credentials are never sent in clear") }
        let mechanisms = Set(self.capabilities["AUTH"] ?? [])
        if mechanisms.contains("PLAIN") {
            self.state = .awaitingAuth(.plain)
            let token = Self.base64("\0\(credentials.username)\0\(credentials.password)")
            return .send("AUTH PLAIN \(token)\r\n")
        }
        if mechanisms.contains("LOGIN") {
            self.state = .awaitingAuth(.loginUsername)
            return .send("AUTH LOGIN\r\n")
        }
        return self.fail("the relay offers no AUTH PLAIN or LOGIN, and credentials are configured")
    }

    private mutating func authenticate(_ step: AuthStep, reply: SMTPReply) -> Action {
        guard let credentials = self.credentials else { return self.fail("AUTH without credentials") }
        switch (step, reply.code) {
        case (.loginUsername, 334):
            self.state = .awaitingAuth(.loginPassword)
            return .send(Self.base64(credentials.username) + "\r\n")
        case (.loginPassword, 334):
            self.state = .awaitingAuth(.plain)  // the next reply is the verdict
            return .send(Self.base64(credentials.password) + "\r\n")
        case (.plain, 235):
            self.state = .ready
            return .sessionReady
        default:
            return self.fail("authentication failed: \(reply)")
        }
    }

    private mutating func fail(_ reason: String) -> Action {
        self.state = .closed
        return .fail(reason)
    }

    private static func outcome(of reply: SMTPReply) -> DeliveryOutcome {
        reply.isPermanent ? .rejected(reply) : .deferred(reply.description)
    }

    private static func base64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }

    /// EHLO keywords (upper-cased) and their parameters, from the reply's lines after the first.
    static func capabilities(of reply: SMTPReply) -> [String: [String]] {
        var capabilities: [String: [String]] = [:]
        for line in reply.lines.dropFirst() {
            let words = line.split(separator: " ").map { $0.uppercased() }
            guard let keyword = words.first else { continue }
            capabilities[keyword] = Array(words.dropFirst())
        }
        return capabilities
    }
}
