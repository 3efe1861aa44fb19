import Common
import TestSupport
import Testing

@testable import SMTPMock

/// The SMTP mock's server, line by line, without a socket: the commands and their order, the
/// limits, DATA (dot-unstuffing, bare LF, oversize), AUTH, STARTTLS, and hostile input.
@Suite struct SMTPServerStateMachineTests {
    typealias Machine = SMTPServerStateMachine

    static func configuration(
        maxMessageBytes: Int = 1024,
        maxRecipients: Int = 3,
        tlsAvailable: Bool = false,
        credentials: (username: String, password: String)? = nil
    ) -> Machine.Configuration {
        .init(
            hostname: "mock.test",
            maxMessageBytes: maxMessageBytes,
            maxRecipients: maxRecipients,
            tlsAvailable: tlsAvailable,
            credentials: credentials
        )
    }

    static let credentials = (username: "user", password: "secret")

    // MARK: - Driving the machine

    /// Feeds one line (CRLF-terminated unless `bareLF`).
    static func send(_ machine: inout Machine, _ line: String, bareLF: Bool = false) -> Machine.Action {
        machine.receive(line: Array(line.utf8)[...], bareLF: bareLF)
    }

    /// The reply code of an action that writes one (nil for `.none` and `.deliver`).
    static func code(_ action: Machine.Action) -> Int? {
        switch action {
        case .reply(let reply), .replyAndClose(let reply), .startTLS(let reply): return reply.code
        case .deliver, .none: return nil
        }
    }

    /// Sends `line` and expects a reply with `code`.
    static func expect(
        _ machine: inout Machine,
        _ line: String,
        _ code: Int,
        _ note: String = "",
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let action = Self.send(&machine, line)
        guard case .reply(let reply) = action else {
            Issue.record("\(line): \(action), not a reply. \(note)", sourceLocation: sourceLocation)
            return
        }
        #expect(reply.code == code, "\(line): \(reply). \(note)", sourceLocation: sourceLocation)
    }

    /// A machine after EHLO.
    static func greeted(_ configuration: Machine.Configuration = Self.configuration()) -> Machine {
        var machine = Machine(configuration: configuration)
        Self.expect(&machine, "EHLO client.test", 250)
        return machine
    }

    /// MAIL, RCPT and DATA accepted.
    static func inData(_ configuration: Machine.Configuration = Self.configuration()) -> Machine {
        var machine = Self.greeted(configuration)
        Self.expect(&machine, "MAIL FROM:<from@example.com>", 250)
        Self.expect(&machine, "RCPT TO:<to@example.com>", 250)
        Self.expect(&machine, "DATA", 354)
        #expect(machine.inData)
        return machine
    }

    func ehloLines(_ configuration: Machine.Configuration, tls: Bool = false) -> [String] {
        var machine = Machine(configuration: configuration, tls: tls)
        guard case .reply(let reply) = Self.send(&machine, "EHLO client.test") else { return [] }
        return reply.lines
    }

    // MARK: - Session

    @Test func theGreetingNamesTheHost() {
        let machine = Machine(configuration: Self.configuration())
        #expect(machine.greeting.code == 220)
        #expect(machine.greeting.lines[0].hasPrefix("mock.test "))
    }

    @Test func ehloAnnouncesWhatIsAvailable() {
        let base = ["mock.test", "PIPELINING", "SIZE 1024", "8BITMIME", "ENHANCEDSTATUSCODES"]
        #expect(self.ehloLines(Self.configuration()) == base)
        #expect(self.ehloLines(Self.configuration(tlsAvailable: true)) == base + ["STARTTLS"])
        #expect(self.ehloLines(Self.configuration(tlsAvailable: true), tls: true) == base, "no STARTTLS inside TLS")
        #expect(self.ehloLines(Self.configuration(credentials: Self.credentials)) == base + ["AUTH PLAIN LOGIN"])
        #expect(
            self.ehloLines(Self.configuration(tlsAvailable: true, credentials: Self.credentials)) == base + ["STARTTLS", "AUTH PLAIN LOGIN"]
        )
    }

    @Test func heloIsOneLineAndBothNeedADomain() {
        var machine = Machine(configuration: Self.configuration())
        #expect(Self.send(&machine, "HELO client.test") == .reply(SMTPReply(250, "mock.test")))
        Self.expect(&machine, "HELO", 501)
        Self.expect(&machine, "EHLO", 501)
        Self.expect(&machine, "ehlo   client.test", 250)
    }

    @Test func mailBeforeEHLOIsOutOfSequence() {
        var machine = Machine(configuration: Self.configuration())
        Self.expect(&machine, "MAIL FROM:<a@example.com>", 503)
        Self.expect(&machine, "RCPT TO:<b@example.com>", 503)
        Self.expect(&machine, "DATA", 503)
        Self.expect(&machine, "NOOP", 250)
        Self.expect(&machine, "RSET", 250)
        Self.expect(&machine, "MAIL FROM:<a@example.com>", 503, "RSET does not greet")
    }

    @Test func commandsOutOfOrderAreRefused() {
        var machine = Self.greeted()
        Self.expect(&machine, "RCPT TO:<b@example.com>", 503)
        Self.expect(&machine, "DATA", 503)
        Self.expect(&machine, "MAIL FROM:<a@example.com>", 250)
        Self.expect(&machine, "MAIL FROM:<a@example.com>", 503)
        Self.expect(&machine, "DATA", 503)
        Self.expect(&machine, "RSET", 250)
        Self.expect(&machine, "RCPT TO:<b@example.com>", 503, "RSET ended the transaction")
    }

    @Test(arguments: [
        ("MAIL FROM:<>", 250), ("mail from:<a@example.com>", 250), ("MAIL FROM: <a@example.com>", 250),
        ("MAIL FROM:<a@example.com> BODY=8BITMIME", 250),
        ("MAIL FROM:<a@example.com> BODY=7bit SIZE=100", 250), ("MAIL FROM:a@example.com", 501), ("MAIL TO:<a@example.com>", 501),
        ("MAIL FROM:<a@example.com", 501), ("MAIL FROM:<a b@example.com>", 501), ("MAIL FROM:<a<b@example.com>", 501),
        ("MAIL FROM:<a@example.com> SIZE=abc", 501), ("MAIL FROM:<a@example.com> SIZE=-1", 501), ("MAIL FROM:<a@example.com> SIZE", 501),
        ("MAIL FROM:<a@example.com> SIZE=1025", 552), ("MAIL FROM:<a@example.com> SIZE=1024", 250),
        ("MAIL FROM:<a@example.com> BODY=BINARYMIME", 501),
        ("MAIL FROM:<a@example.com> SMTPUTF8", 555), ("MAIL FROM:<a@example.com> =", 555), ("MAIL FROM:<a@example.com> =x", 555),
        ("MAIL FROM:<a@example.com> ==", 555), ("MAIL", 501), ("MAIL FROM:", 501),
        ("MAIL FROM:<\(String(repeating: "a", count: 250))@b.c>", 250), ("MAIL FROM:<\(String(repeating: "a", count: 251))@b.c>", 501),
    ])
    func mailFromSyntaxAndParameters(line: String, code: Int) {
        var machine = Self.greeted()
        Self.expect(&machine, line, code)
    }

    @Test func authenticationIsRequiredBeforeMailWhenConfigured() {
        var machine = Self.greeted(Self.configuration(credentials: Self.credentials))
        Self.expect(&machine, "MAIL FROM:<a@example.com>", 530)
        Self.expect(&machine, "AUTH PLAIN AHVzZXIAc2VjcmV0", 235)
        Self.expect(&machine, "MAIL FROM:<a@example.com>", 250)
    }

    @Test func recipientsAreLimited() {
        var machine = Self.greeted(Self.configuration(maxRecipients: 2))
        Self.expect(&machine, "MAIL FROM:<a@example.com>", 250)
        Self.expect(&machine, "RCPT TO:<b@example.com>", 250)
        Self.expect(&machine, "RCPT TO:<c@example.com>", 250)
        Self.expect(&machine, "RCPT TO:<d@example.com>", 452)
        Self.expect(&machine, "RCPT TO:<>", 501)
        Self.expect(&machine, "RCPT TO:<e@example.com> NOTIFY=NEVER", 501)
        Self.expect(&machine, "RCPT TO:e@example.com", 501)
        Self.expect(&machine, "DATA now", 501)
        Self.expect(&machine, "DATA", 354)
        #expect(
            Self.send(&machine, ".") == .deliver(ReceivedMail(sender: "a@example.com", recipients: ["b@example.com", "c@example.com"], data: []))
        )
    }

    @Test func informationalCommands() {
        var machine = Machine(configuration: Self.configuration())
        Self.expect(&machine, "NOOP", 250)
        Self.expect(&machine, "noop with argument", 250)
        Self.expect(&machine, "VRFY someone", 252)
        Self.expect(&machine, "HELP", 214)
        Self.expect(&machine, "EXPN list", 500)
        Self.expect(&machine, "", 500)
        Self.expect(&machine, " EHLO client.test", 500)
    }

    @Test func quitSaysGoodbyeAndClosesAndNothingIsReadAfter() {
        var machine = Self.greeted()
        #expect(Self.send(&machine, "QUIT") == .replyAndClose(SMTPReply(221, "2.0.0 Bye")))
        #expect(Self.send(&machine, "NOOP") == .none)
    }

    // MARK: - DATA

    @Test func dataIsDotUnstuffedAndEndsWithALoneDot() {
        var machine = Self.inData()
        for line in ["Subject: hi", "", "..leading dot", "...two", ". space", "", "last"] {
            #expect(Self.send(&machine, line) == .none)
        }
        #expect(machine.inData)
        let expected = "Subject: hi\r\n\r\n.leading dot\r\n..two\r\n space\r\n\r\nlast\r\n"
        #expect(
            Self.send(&machine, ".")
                == .deliver(ReceivedMail(sender: "from@example.com", recipients: ["to@example.com"], data: Array(expected.utf8)))
        )
        #expect(!machine.inData)
        // Nothing is read while the message is stored…
        #expect(Self.send(&machine, "NOOP") == .none)
        // …then the reply, and the session goes on.
        #expect(machine.delivered(true) == SMTPReply(250, "2.0.0 OK: message accepted"))
        Self.expect(&machine, "MAIL FROM:<from@example.com>", 250)
    }

    @Test func aMessageThatCouldNotBeStoredIsDeferred() {
        var machine = Self.inData()
        guard case .deliver = Self.send(&machine, ".") else {
            Issue.record("not delivered")
            return
        }
        #expect(machine.delivered(false).code == 451)
        #expect(machine.delivered(true).code == 503, "only one reply per message")
        Self.expect(&machine, "MAIL FROM:<from@example.com>", 250)
    }

    @Test func deliveredOutsideDeliveryIsOutOfSequence() {
        var machine = Self.greeted()
        #expect(machine.delivered(true).code == 503)
        Self.expect(&machine, "MAIL FROM:<from@example.com>", 250)
    }

    @Test func aDotWithABareLFDoesNotEndTheMessageAndTheMessageIsRefused() {
        var machine = Self.inData()
        #expect(Self.send(&machine, "smuggled", bareLF: false) == .none)
        #expect(Self.send(&machine, ".", bareLF: true) == .none, "`\\n.\\n` is not the end")
        #expect(machine.inData)
        #expect(Self.send(&machine, "MAIL FROM:<evil@example.com>") == .none, "still message data, never a command")
        #expect(Self.send(&machine, "RCPT TO:<victim@example.com>") == .none)
        let end = Self.send(&machine, ".")
        #expect(Self.code(end) == 554)
        #expect(!machine.inData)
        // The session goes on with a new transaction.
        Self.expect(&machine, "MAIL FROM:<from@example.com>", 250)
    }

    @Test func aDotRightAfterABareLFDoesNotEndTheMessage() {
        // `\n.\r\n`: a receiver that accepts it as the end lets a second message be smuggled.
        var machine = Self.inData()
        #expect(Self.send(&machine, "text", bareLF: true) == .none)
        #expect(Self.send(&machine, ".") == .none)
        #expect(machine.inData)
        #expect(Self.send(&machine, "MAIL FROM:<evil@example.com>") == .none)
        #expect(Self.code(Self.send(&machine, ".")) == 554)
    }

    @Test func anEchoedParameterNeverBreaksTheReplyFraming() {
        var machine = Self.greeted()
        guard case .reply(let reply) = Self.send(&machine, "MAIL FROM:<a@example.com> X\rY\u{0}=1") else {
            Issue.record("no reply")
            return
        }
        #expect(reply.code == 555)
        #expect(reply.wire.utf8.filter { $0 < 32 } == [13, 10])
    }

    @Test func aBareLFAnywhereInTheMessageRefusesItAtTheEnd() {
        var machine = Self.inData()
        #expect(Self.send(&machine, "first") == .none)
        #expect(Self.send(&machine, "bare", bareLF: true) == .none)
        #expect(Self.send(&machine, "after") == .none)
        #expect(Self.code(Self.send(&machine, ".")) == 554)
    }

    @Test func aBareLFCommandIsRefused() {
        var machine = Machine(configuration: Self.configuration())
        #expect(Self.code(Self.send(&machine, "EHLO client.test", bareLF: true)) == 500)
        Self.expect(&machine, "MAIL FROM:<a@example.com>", 503, "the bare-LF EHLO did not count")
    }

    @Test func aMessageOverTheSizeLimitIsRefusedAtItsEnd() {
        var machine = Self.inData(Self.configuration(maxMessageBytes: 1024))
        let line = String(repeating: "x", count: 98)
        for _ in 0..<10 { #expect(Self.send(&machine, line) == .none) }  // 1000 bytes with CRLFs
        #expect(Self.send(&machine, "1234567890123456789012") == .none)  // 1024: still fits
        #expect(Self.send(&machine, "") == .none)  // 1026: too big
        #expect(Self.send(&machine, "more") == .none)
        #expect(Self.code(Self.send(&machine, ".")) == 552)
        Self.expect(&machine, "MAIL FROM:<a@example.com>", 250)
    }

    @Test func aMessageExactlyAtTheSizeLimitIsAccepted() {
        var machine = Self.inData(Self.configuration(maxMessageBytes: 1024))
        let line = String(repeating: "x", count: 510)
        #expect(Self.send(&machine, line) == .none)
        #expect(Self.send(&machine, line) == .none)
        guard case .deliver(let mail) = Self.send(&machine, ".") else {
            Issue.record("refused")
            return
        }
        #expect(mail.data.count == 1024)
    }

    @Test func aLineTooLongIsA500InACommandAndRefusesTheMessageInData() {
        var command = Self.greeted()
        #expect(command.maximumLineLength == Machine.maximumCommandLength)
        #expect(Self.code(command.lineTooLong(bareLF: false)) == 500)
        Self.expect(&command, "MAIL FROM:<a@example.com>", 250)

        var data = Self.inData()
        #expect(data.maximumLineLength == Machine.maximumTextLineLength)
        #expect(data.lineTooLong(bareLF: false) == .none)
        #expect(Self.send(&data, "fine") == .none)
        #expect(Self.code(Self.send(&data, ".")) == 554)
    }

    // MARK: - AUTH

    @Test(arguments: ["AUTH PLAIN AHVzZXIAc2VjcmV0", "AUTH PLAIN dXNlcgB1c2VyAHNlY3JldA==", "auth plain AHVzZXIAc2VjcmV0"])
    func authPlainWithAnInitialResponse(line: String) {
        var machine = Self.greeted(Self.configuration(credentials: Self.credentials))
        Self.expect(&machine, line, 235)
        Self.expect(&machine, "AUTH PLAIN AHVzZXIAc2VjcmV0", 503, "already authenticated")
    }

    @Test func authPlainWithoutAnInitialResponse() {
        var machine = Self.greeted(Self.configuration(credentials: Self.credentials))
        #expect(Self.send(&machine, "AUTH PLAIN") == .reply(SMTPReply(334, "")))
        Self.expect(&machine, "AHVzZXIAc2VjcmV0", 235)
        Self.expect(&machine, "MAIL FROM:<a@example.com>", 250)
    }

    @Test func authLoginAsksForTheUsernameThenThePassword() {
        var machine = Self.greeted(Self.configuration(credentials: Self.credentials))
        #expect(Self.send(&machine, "AUTH LOGIN") == .reply(SMTPReply(334, "VXNlcm5hbWU6")))
        #expect(Self.send(&machine, "dXNlcg==") == .reply(SMTPReply(334, "UGFzc3dvcmQ6")))
        Self.expect(&machine, "c2VjcmV0", 235)
        Self.expect(&machine, "MAIL FROM:<a@example.com>", 250)

        var initial = Self.greeted(Self.configuration(credentials: Self.credentials))
        #expect(Self.send(&initial, "AUTH LOGIN dXNlcg==") == .reply(SMTPReply(334, "UGFzc3dvcmQ6")))
        Self.expect(&initial, "c2VjcmV0", 235)
    }

    @Test(arguments: [
        ["AUTH PLAIN AHVzZXIAd3Jvbmc="], ["AUTH PLAIN AHVzZXI="], ["AUTH PLAIN", "AHVzZXIAd3Jvbmc="], ["AUTH LOGIN", "dXNlcg==", "d3Jvbmc="],
        ["AUTH LOGIN", "c2VjcmV0", "dXNlcg=="],
    ])
    func wrongCredentialsAreRefused(lines: [String]) {
        var machine = Self.greeted(Self.configuration(credentials: Self.credentials))
        var last: Machine.Action = .none
        for line in lines { last = Self.send(&machine, line) }
        #expect(Self.code(last).map { (500..<600).contains($0) } == true, "\(last)")
        Self.expect(&machine, "MAIL FROM:<a@example.com>", 530)
    }

    @Test func wrongPasswordIs535() {
        var machine = Self.greeted(Self.configuration(credentials: Self.credentials))
        Self.expect(&machine, "AUTH PLAIN AHVzZXIAd3Jvbmc=", 535)
    }

    @Test(arguments: [["AUTH LOGIN", "*"], ["AUTH LOGIN", "dXNlcg==", "*"], ["AUTH PLAIN", "*"]])
    func aStarCancelsAuthentication(lines: [String]) {
        var machine = Self.greeted(Self.configuration(credentials: Self.credentials))
        var last: Machine.Action = .none
        for line in lines { last = Self.send(&machine, line) }
        #expect(Self.code(last) == 501)
        Self.expect(&machine, "MAIL FROM:<a@example.com>", 530)
        Self.expect(&machine, "AUTH PLAIN AHVzZXIAc2VjcmV0", 235, "a new attempt is possible")
    }

    @Test(arguments: ["AUTH PLAIN !!!", "AUTH LOGIN !!!", "AUTH PLAIN //79"])
    func anUndecodableResponseIs501(line: String) {
        var machine = Self.greeted(Self.configuration(credentials: Self.credentials))
        Self.expect(&machine, line, 501)
        Self.expect(&machine, "NOOP", 250, "back to commands")
    }

    @Test func authWhereItIsNotAvailableOrNotAllowed() {
        var without = Self.greeted()
        Self.expect(&without, "AUTH PLAIN AHVzZXIAc2VjcmV0", 502)

        var early = Machine(configuration: Self.configuration(credentials: Self.credentials))
        Self.expect(&early, "AUTH PLAIN AHVzZXIAc2VjcmV0", 503)

        var unknown = Self.greeted(Self.configuration(credentials: Self.credentials))
        Self.expect(&unknown, "AUTH CRAM-MD5", 504)
        Self.expect(&unknown, "AUTH", 504)
    }

    // MARK: - STARTTLS

    @Test func startTLSRestartsTheSession() {
        var machine = Self.greeted(Self.configuration(tlsAvailable: true, credentials: Self.credentials))
        #expect(Self.send(&machine, "STARTTLS") == .startTLS(SMTPReply(220, "2.0.0 Ready to start TLS")))
        machine.tlsEstablished()
        #expect(machine.tls)
        Self.expect(&machine, "AUTH PLAIN AHVzZXIAc2VjcmV0", 503, "EHLO again first")
        #expect(!self.ehloLines(machine.configuration, tls: true).contains("STARTTLS"))
        Self.expect(&machine, "EHLO client.test", 250)
        Self.expect(&machine, "STARTTLS", 454, "not twice")
        Self.expect(&machine, "AUTH PLAIN AHVzZXIAc2VjcmV0", 235)
    }

    @Test func authenticationBeforeSTARTTLSIsForgotten() {
        var machine = Self.greeted(Self.configuration(tlsAvailable: true, credentials: Self.credentials))
        Self.expect(&machine, "AUTH PLAIN AHVzZXIAc2VjcmV0", 235)
        #expect(Self.code(Self.send(&machine, "STARTTLS")) == 220)
        machine.tlsEstablished()
        Self.expect(&machine, "EHLO client.test", 250)
        Self.expect(&machine, "MAIL FROM:<a@example.com>", 530)
    }

    @Test func startTLSWhenItIsNotPossible() {
        var without = Self.greeted()
        Self.expect(&without, "STARTTLS", 454)

        var early = Machine(configuration: Self.configuration(tlsAvailable: true))
        Self.expect(&early, "STARTTLS", 503)

        var argument = Self.greeted(Self.configuration(tlsAvailable: true))
        Self.expect(&argument, "STARTTLS now", 501)
    }

    // MARK: - Hostile clients

    @Test func tenErrorsCloseTheConnection() {
        var machine = Self.greeted()
        for _ in 1..<Machine.maximumErrors { Self.expect(&machine, "GARBAGE", 500) }
        #expect(Self.send(&machine, "GARBAGE") == .replyAndClose(SMTPReply(421, "4.7.0 Too many errors; closing")))
        #expect(Self.send(&machine, "NOOP") == .none)
        #expect(Self.send(&machine, "EHLO client.test") == .none)
    }

    @Test func errorsOfEveryKindCount() {
        var machine = Machine(configuration: Self.configuration(tlsAvailable: false, credentials: Self.credentials))
        var actions: [Machine.Action] = []
        actions.append(Self.send(&machine, "MAIL FROM:<a@example.com>"))  // 503
        actions.append(Self.send(&machine, "bare", bareLF: true))  // 500
        actions.append(machine.lineTooLong(bareLF: false))  // 500
        actions.append(Self.send(&machine, "EHLO"))  // 501
        actions.append(Self.send(&machine, "EHLO client.test"))  // fine
        actions.append(Self.send(&machine, "STARTTLS"))  // 454
        actions.append(Self.send(&machine, "MAIL FROM:<a@example.com>"))  // 530
        actions.append(Self.send(&machine, "AUTH PLAIN AHVzZXIAd3Jvbmc="))  // 535
        actions.append(Self.send(&machine, "AUTH LOGIN"))  // 334
        actions.append(Self.send(&machine, "*"))  // 501
        actions.append(Self.send(&machine, "AUTH FOO"))  // 504
        actions.append(Self.send(&machine, "WHAT"))  // 421: the tenth error
        #expect(actions.map(Self.code) == [503, 500, 500, 501, 250, 454, 530, 535, 334, 501, 504, 421])
        guard case .replyAndClose = actions.last else {
            Issue.record("not closed")
            return
        }
    }

    /// Random lines: mostly one line (a command, valid or not, in or out of order, with random
    /// arguments; message lines, binary, huge lines, lines ending in a bare LF), sometimes a whole
    /// well-formed session (so that messages do get through, between the garbage).
    static func randomLines(_ random: inout SplitMix64) -> [(bytes: [UInt8], bareLF: Bool)] {
        guard Int.random(in: 0..<15, using: &random) == 0 else { return [Self.randomLine(&random)] }
        var lines = ["EHLO client.test", "AUTH PLAIN AHVzZXIAc2VjcmV0", "MAIL FROM:<a@b.test>", "RCPT TO:<c@d.test>", "DATA"]
        lines += (0..<Int.random(in: 0..<30, using: &random)).map { _ in
            String(decoding: Self.randomLine(&random).bytes.prefix(900), as: UTF8.self)
        }
        lines.append(".")
        return lines.map { (Array($0.utf8), false) }
    }

    /// One random line.
    static func randomLine(_ random: inout SplitMix64) -> (bytes: [UInt8], bareLF: Bool) {
        let verbs = [
            "EHLO", "HELO", "MAIL", "RCPT", "DATA", "RSET", "NOOP", "QUIT", "VRFY", "HELP", "STARTTLS", "AUTH", "ehlo", "mail", "BDAT", "XYZ", "",
        ]
        let arguments = [
            "", " x.test", " FROM:<a@b.test>", " TO:<c@d.test>", " FROM:<>", " FROM:<a@b.test> SIZE=10", " FROM:<a@b.test> SIZE=99999999999999999999",
            " FROM:<a@b.test> =", " FROM:<a@b.test> SIZE=", " TO:<", " FROM:<a@b.test> BODY=8BITMIME ==", " PLAIN", " PLAIN AHVzZXIAc2VjcmV0",
            " LOGIN", " LOGIN dXNlcg==", " PLAIN ====", " FROM:<é@ü.test>", " TO:<\u{0}@x>", " FROM:<a@b.test> X\rY=1",
            " FROM:<a@b.test> \r\u{1}\u{7F}",
        ]
        let bareLF = Int.random(in: 0..<20, using: &random) == 0
        switch Int.random(in: 0..<10, using: &random) {
        case 0..<5:
            let verb = verbs.randomElement(using: &random)!
            let argument = arguments.randomElement(using: &random)!
            return (Array((verb + argument).utf8), bareLF)
        case 5:
            // Any byte but LF, which always ends a line (the handler splits on it).
            return (
                (0..<Int.random(in: 0..<80, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }.map { $0 == 10 ? 11 : $0 }, bareLF
            )
        case 6:
            return ([UInt8](repeating: UInt8(ascii: "A"), count: Int.random(in: 400..<3000, using: &random)), bareLF)
        case 7:
            return (Array([".", "..", ". x", ".\r", "\r", "*", "dXNlcg==", "c2VjcmV0"].randomElement(using: &random)!.utf8), bareLF)
        default:
            return (Array("message line \(Int.random(in: 0..<1000, using: &random))".utf8), bareLF)
        }
    }

    @Test(arguments: [1, 2, 3, 4])
    func randomInputNeverTrapsAndEveryReplyIsAValidCode(seed: UInt64) {
        var random = SplitMix64(state: seed)
        let configuration = Self.configuration(
            maxMessageBytes: 2048,
            maxRecipients: 2,
            tlsAvailable: seed % 2 == 0,
            credentials: seed > 2 ? Self.credentials : nil
        )
        var machine = Machine(configuration: configuration)
        var (sessions, replies, deliveries) = (1, 0, 0)
        var lines: [(bytes: [UInt8], bareLF: Bool)] = []
        for _ in 0..<20_000 {
            if lines.isEmpty { lines = Self.randomLines(&random) }
            let (bytes, bareLF) = lines.removeFirst()
            // What the handler does: a line over the limit is never given to the machine.
            let action =
                bytes.count > machine.maximumLineLength ? machine.lineTooLong(bareLF: bareLF) : machine.receive(line: bytes[...], bareLF: bareLF)
            switch action {
            case .reply(let reply), .replyAndClose(let reply), .startTLS(let reply):
                replies += 1
                #expect((200...599).contains(reply.code), "\(reply)")
                let wire = Array(reply.wire.utf8)
                #expect(wire.suffix(2) == [13, 10])
                for (index, byte) in wire.enumerated() {
                    if byte == 13 { #expect(index + 1 < wire.count && wire[index + 1] == 10, "no bare CR in \(reply.wire.debugDescription)") }
                    if byte == 10 { #expect(index > 0 && wire[index - 1] == 13, "no bare LF in \(reply.wire.debugDescription)") }
                }
            case .deliver(let mail):
                deliveries += 1
                #expect(mail.data.count <= configuration.maxMessageBytes)
                #expect(mail.recipients.count <= configuration.maxRecipients && !mail.recipients.isEmpty)
                for (index, byte) in mail.data.enumerated() where byte == 10 { #expect(index > 0 && mail.data[index - 1] == 13, "no bare LF") }
                #expect(mail.data.isEmpty || mail.data.suffix(2) == [13, 10])
                #expect([250, 451].contains(machine.delivered(Bool.random(using: &random)).code))
            case .none:
                break
            }
            if case .startTLS = action, Bool.random(using: &random) { machine.tlsEstablished() }
            if case .replyAndClose = action {
                #expect(machine.receive(line: Array("NOOP".utf8)[...], bareLF: false) == .none, "closed")
                machine = Machine(configuration: configuration)
                sessions += 1
            }
        }
        // The generator reaches every part of the machine.
        #expect(sessions > 10)
        #expect(replies > 1000)
        #expect(deliveries > 10)
    }

    @Test func everyByteAsAWholeLineIsHandled() {
        for byte in UInt8.min...UInt8.max {
            for bareLF in [false, true] {
                var command = Self.greeted()
                let action = Self.send(&command, String(decoding: [byte], as: UTF8.self), bareLF: bareLF)
                #expect(Self.code(action).map { (200...599).contains($0) } == true)
                var data = Self.inData()
                let first = data.receive(line: [byte][...], bareLF: bareLF)
                if byte == UInt8(ascii: "."), !bareLF {
                    #expect(first == .deliver(ReceivedMail(sender: "from@example.com", recipients: ["to@example.com"], data: [])))
                    continue
                }
                #expect(first == .none)
                #expect(data.receive(line: [UInt8(ascii: "."), byte][...], bareLF: bareLF) == .none)
                if bareLF {
                    #expect(Self.send(&data, ".") == .none, "a `.` right after a bare LF is not the end")
                }
                let end = Self.send(&data, ".")
                if bareLF {
                    #expect(Self.code(end) == 554)
                } else {
                    #expect(
                        end == .deliver(ReceivedMail(sender: "from@example.com", recipients: ["to@example.com"], data: [byte, 13, 10, byte, 13, 10]))
                    )
                }
            }
        }
    }
}
