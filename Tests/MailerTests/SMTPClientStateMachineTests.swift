import Common
import Foundation
import Testing

@testable import Mailer

/// The mailer's SMTP client, reply by reply, without a socket: the session setup (EHLO,
/// STARTTLS, AUTH), transactions with and without PIPELINING, and what each failure leads to.
@Suite struct SMTPClientStateMachineTests {
    typealias Machine = SMTPClientStateMachine

    static let credentials = Machine.Credentials(username: "user", password: "secret")

    /// An EHLO reply with these keywords after the greeting line.
    static func ehlo(_ keywords: String...) -> SMTPReply { SMTPReply(code: 250, lines: ["relay.example.com greets mailer"] + keywords) }

    /// A machine past the greeting and EHLO (with `keywords`), expected ready.
    func readyMachine(_ keywords: String..., security: Machine.Security = .plain) throws -> Machine {
        var machine = Machine(heloName: "mailer.local", security: security, credentials: nil)
        #expect(machine.receive(SMTPReply(220, "relay ESMTP")) == .send("EHLO mailer.local\r\n"))
        #expect(machine.receive(SMTPReply(code: 250, lines: ["relay.example.com"] + keywords)) == .sessionReady)
        try #require(machine.isReady)
        return machine
    }

    func isFail(_ action: Machine.Action) -> Bool {
        if case .fail = action { return true }
        return false
    }

    // MARK: - Session

    @Test func greetingThenEHLOMakesAPlainSessionReady() throws {
        var machine = Machine(heloName: "mailer.local", security: .plain, credentials: nil)
        #expect(!machine.isReady)
        #expect(machine.receive(SMTPReply(220, "relay ESMTP")) == .send("EHLO mailer.local\r\n"))
        #expect(!machine.isReady)
        #expect(machine.receive(Self.ehlo("PIPELINING", "SIZE 35882577", "8BITMIME")) == .sessionReady)
        #expect(machine.isReady)
        #expect(machine.sizeLimit == 35_882_577)
        #expect(machine.capabilities["PIPELINING"] == [])
    }

    @Test(arguments: [421, 554, 250, 221])
    func aGreetingOtherThan220FailsTheSession(code: Int) {
        var machine = Machine(heloName: "mailer.local", security: .plain, credentials: nil)
        #expect(self.isFail(machine.receive(SMTPReply(code, "go away"))))
        #expect(!machine.isReady)
    }

    @Test func ehloKeywordsAreUpperCasedWithTheirParameters() {
        let capabilities = Machine.capabilities(
            of: SMTPReply(code: 250, lines: ["relay says hello", "auth plain LOGIN", "size 1000", "", "starttls"])
        )
        #expect(capabilities == ["AUTH": ["PLAIN", "LOGIN"], "SIZE": ["1000"], "STARTTLS": []])
        // The first line is the relay's name and greeting, never a keyword.
        #expect(Machine.capabilities(of: SMTPReply(250, "PIPELINING")).isEmpty)
    }

    @Test(
        arguments: [("SIZE", nil), ("SIZE 0", nil), ("SIZE -5", nil), ("SIZE big", nil), ("SIZE 1024", 1024), ("8BITMIME", nil)] as [(String, Int?)]
    )
    func theSizeLimitIsAPositiveAnnouncedSize(keyword: String, limit: Int?) throws {
        #expect(try self.readyMachine(keyword).sizeLimit == limit)
    }

    @Test func startTLSThenEHLOAgainThenAUTHPlain() {
        var machine = Machine(heloName: "mailer.local", security: .startTLS(required: true), credentials: Self.credentials)
        #expect(machine.receive(SMTPReply(220, "relay")) == .send("EHLO mailer.local\r\n"))
        // AUTH is offered before TLS, but credentials never go in clear: STARTTLS first.
        #expect(machine.receive(Self.ehlo("STARTTLS", "AUTH PLAIN LOGIN")) == .send("STARTTLS\r\n"))
        #expect(machine.receive(SMTPReply(220, "2.0.0 Ready to start TLS")) == .startTLS)
        #expect(machine.capabilities["STARTTLS"] != nil)
        #expect(machine.tlsEstablished() == .send("EHLO mailer.local\r\n"))
        #expect(machine.capabilities.isEmpty, "what was announced in clear is forgotten (RFC 3207 §4.2)")
        #expect(machine.receive(Self.ehlo("PIPELINING", "AUTH PLAIN LOGIN")) == .send("AUTH PLAIN AHVzZXIAc2VjcmV0\r\n"))
        #expect(!machine.isReady)
        #expect(machine.receive(SMTPReply(235, "2.7.0 Authentication successful")) == .sessionReady)
        #expect(machine.isReady)
    }

    @Test func authLoginWhenPlainIsNotOffered() {
        var machine = Machine(heloName: "mailer.local", security: .implicitTLS, credentials: Self.credentials)
        #expect(machine.receive(SMTPReply(220, "relay")) == .send("EHLO mailer.local\r\n"))
        #expect(machine.receive(Self.ehlo("AUTH LOGIN CRAM-MD5")) == .send("AUTH LOGIN\r\n"))
        #expect(machine.receive(SMTPReply(334, "VXNlcm5hbWU6")) == .send("dXNlcg==\r\n"))
        #expect(machine.receive(SMTPReply(334, "UGFzc3dvcmQ6")) == .send("c2VjcmV0\r\n"))
        #expect(machine.receive(SMTPReply(235, "2.7.0 OK")) == .sessionReady)
    }

    @Test(arguments: [
        [SMTPReply(535, "5.7.8 Authentication credentials invalid")],
        [SMTPReply(334, "VXNlcm5hbWU6"), SMTPReply(535, "5.7.8 no")],
        [SMTPReply(334, "VXNlcm5hbWU6"), SMTPReply(334, "UGFzc3dvcmQ6"), SMTPReply(535, "5.7.8 no")],
        [SMTPReply(334, "VXNlcm5hbWU6"), SMTPReply(334, "UGFzc3dvcmQ6"), SMTPReply(334, "again?")],
        [SMTPReply(454, "4.7.0 Temporary authentication failure")],
    ])
    func aRefusedAuthenticationFailsTheSession(replies: [SMTPReply]) {
        var machine = Machine(heloName: "mailer.local", security: .implicitTLS, credentials: Self.credentials)
        _ = machine.receive(SMTPReply(220, "relay"))
        #expect(machine.receive(Self.ehlo("AUTH LOGIN")) == .send("AUTH LOGIN\r\n"))
        for reply in replies.dropLast() { #expect(!self.isFail(machine.receive(reply))) }
        #expect(self.isFail(machine.receive(replies.last!)))
        #expect(!machine.isReady)
    }

    @Test func implicitTLSAuthenticatesAtOnceAndNeverSendsSTARTTLS() {
        var machine = Machine(heloName: "mailer.local", security: .implicitTLS, credentials: Self.credentials)
        _ = machine.receive(SMTPReply(220, "relay"))
        #expect(machine.receive(Self.ehlo("STARTTLS", "AUTH PLAIN")) == .send("AUTH PLAIN AHVzZXIAc2VjcmV0\r\n"))
    }

    @Test func aRequiredSTARTTLSThatIsNotOfferedFailsTheSession() {
        var machine = Machine(heloName: "mailer.local", security: .startTLS(required: true), credentials: nil)
        _ = machine.receive(SMTPReply(220, "relay"))
        #expect(self.isFail(machine.receive(Self.ehlo("PIPELINING", "AUTH PLAIN"))))
        #expect(!machine.isReady)
    }

    @Test func anOptionalSTARTTLSThatIsNotOfferedGoesOnInClearWithoutCredentials() {
        var machine = Machine(heloName: "mailer.local", security: .startTLS(required: false), credentials: nil)
        _ = machine.receive(SMTPReply(220, "relay"))
        #expect(machine.receive(Self.ehlo("PIPELINING")) == .sessionReady)
    }

    @Test(arguments: [Machine.Security.startTLS(required: false), .plain])
    func credentialsAreNeverSentInClear(security: Machine.Security) {
        var machine = Machine(heloName: "mailer.local", security: security, credentials: Self.credentials)
        _ = machine.receive(SMTPReply(220, "relay"))
        let action = machine.receive(Self.ehlo("AUTH PLAIN LOGIN"))
        #expect(self.isFail(action), "\(action)")
        if case .send(let command) = action { #expect(!command.contains("AUTH")) }
    }

    @Test func credentialsWithoutAnAUTHMechanismWeSpeakFailTheSession() {
        var machine = Machine(heloName: "mailer.local", security: .implicitTLS, credentials: Self.credentials)
        _ = machine.receive(SMTPReply(220, "relay"))
        #expect(self.isFail(machine.receive(Self.ehlo("AUTH CRAM-MD5 XOAUTH2"))))
    }

    @Test func aRefusedRequiredSTARTTLSFailsTheSession() {
        var machine = Machine(heloName: "mailer.local", security: .startTLS(required: true), credentials: nil)
        _ = machine.receive(SMTPReply(220, "relay"))
        #expect(machine.receive(Self.ehlo("STARTTLS")) == .send("STARTTLS\r\n"))
        #expect(self.isFail(machine.receive(SMTPReply(454, "4.7.0 TLS not available"))))
    }

    @Test func aReplyDuringTheHandshakeOrTLSOutsideSTARTTLSFailsTheSession() {
        var machine = Machine(heloName: "mailer.local", security: .startTLS(required: true), credentials: nil)
        _ = machine.receive(SMTPReply(220, "relay"))
        _ = machine.receive(Self.ehlo("STARTTLS"))
        #expect(machine.receive(SMTPReply(220, "go")) == .startTLS)
        #expect(self.isFail(machine.receive(SMTPReply(250, "smuggled"))))

        var early = Machine(heloName: "mailer.local", security: .startTLS(required: true), credentials: nil)
        #expect(self.isFail(early.tlsEstablished()))
    }

    @Test func aRefusedEHLOFallsBackToHELOWithoutExtensions() throws {
        var machine = Machine(heloName: "mailer.local", security: .plain, credentials: nil)
        _ = machine.receive(SMTPReply(220, "old relay"))
        #expect(machine.receive(SMTPReply(502, "5.5.2 Command not recognized")) == .send("HELO mailer.local\r\n"))
        #expect(machine.receive(SMTPReply(250, "old relay")) == .sessionReady)
        #expect(machine.capabilities.isEmpty)
        // No PIPELINING and no SIZE: one command at a time, no SIZE parameter.
        #expect(machine.startTransaction(from: "a@example.com", to: ["b@example.com"], size: 10) == .send("MAIL FROM:<a@example.com>\r\n"))
    }

    @Test func aRefusedHELOFailsTheSession() {
        var machine = Machine(heloName: "mailer.local", security: .plain, credentials: nil)
        _ = machine.receive(SMTPReply(220, "old relay"))
        #expect(machine.receive(SMTPReply(500, "no")) == .send("HELO mailer.local\r\n"))
        #expect(self.isFail(machine.receive(SMTPReply(501, "no either"))))
    }

    @Test func heloCannotSatisfyARequiredSTARTTLSOrCredentials() {
        var tls = Machine(heloName: "mailer.local", security: .startTLS(required: true), credentials: nil)
        _ = tls.receive(SMTPReply(220, "old relay"))
        _ = tls.receive(SMTPReply(502, "no EHLO"))
        #expect(self.isFail(tls.receive(SMTPReply(250, "old relay"))))

        var auth = Machine(heloName: "mailer.local", security: .implicitTLS, credentials: Self.credentials)
        _ = auth.receive(SMTPReply(220, "old relay"))
        _ = auth.receive(SMTPReply(502, "no EHLO"))
        #expect(self.isFail(auth.receive(SMTPReply(250, "old relay"))))
    }

    @Test func aReplyWhileIdleEndsTheSession() throws {
        var machine = try self.readyMachine("PIPELINING")
        #expect(self.isFail(machine.receive(SMTPReply(421, "4.4.2 idle timeout"))))
        #expect(!machine.isReady)
    }

    @Test func quitClosesTheSession() throws {
        var machine = try self.readyMachine()
        #expect(machine.quit() == .send("QUIT\r\n"))
        #expect(!machine.isReady)
        #expect(machine.receive(SMTPReply(221, "bye")) == Machine.Action.none)
    }

    // MARK: - Transactions

    @Test func aPipelinedTransactionSendsEverythingAtOnceThenTheMessage() throws {
        var machine = try self.readyMachine("PIPELINING", "SIZE 10000")
        let start = machine.startTransaction(from: "no-reply@example.com", to: ["a@example.com", "b@example.com"], size: 1234)
        #expect(start == .send("MAIL FROM:<no-reply@example.com> SIZE=1234\r\nRCPT TO:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n"))
        #expect(!machine.isReady)
        #expect(machine.receive(SMTPReply(250, "2.1.0 OK")) == Machine.Action.none)
        #expect(machine.receive(SMTPReply(250, "2.1.5 OK")) == Machine.Action.none)
        #expect(machine.receive(SMTPReply(250, "2.1.5 OK")) == Machine.Action.none)
        #expect(machine.receive(SMTPReply(354, "go ahead")) == .sendMessage)
        #expect(machine.receive(SMTPReply(250, "2.0.0 queued as 1")) == .finished(.delivered, reusable: true))
        #expect(machine.isReady)
        // The session carries the next transaction.
        #expect(
            machine.startTransaction(from: "no-reply@example.com", to: ["c@example.com"], size: 1)
                == .send("MAIL FROM:<no-reply@example.com> SIZE=1\r\nRCPT TO:<c@example.com>\r\nDATA\r\n")
        )
        #expect(machine.receive(SMTPReply(250, "OK")) == Machine.Action.none)
        #expect(machine.receive(SMTPReply(250, "OK")) == Machine.Action.none)
        #expect(machine.receive(SMTPReply(354, "go ahead")) == .sendMessage)
        #expect(machine.receive(SMTPReply(250, "2.0.0 queued as 2")) == .finished(.delivered, reusable: true))
    }

    @Test func withoutPipeliningCommandsGoOneByOne() throws {
        var machine = try self.readyMachine("8BITMIME")
        #expect(
            machine.startTransaction(from: "f@example.com", to: ["a@example.com", "b@example.com"], size: 5) == .send("MAIL FROM:<f@example.com>\r\n")
        )
        #expect(machine.receive(SMTPReply(250, "OK")) == .send("RCPT TO:<a@example.com>\r\n"))
        #expect(machine.receive(SMTPReply(250, "OK")) == .send("RCPT TO:<b@example.com>\r\n"))
        #expect(machine.receive(SMTPReply(250, "OK")) == .send("DATA\r\n"))
        #expect(machine.receive(SMTPReply(354, "go ahead")) == .sendMessage)
        #expect(machine.receive(SMTPReply(250, "OK")) == .finished(.delivered, reusable: true))
        #expect(machine.isReady)
    }

    @Test(arguments: [421, 450, 451, 452])
    func aTransientReplyToTheMessageDefersIt(code: Int) throws {
        var machine = try self.readyMachine("PIPELINING")
        _ = machine.startTransaction(from: "f@example.com", to: ["a@example.com"], size: 5)
        _ = machine.receive(SMTPReply(250, "OK"))
        _ = machine.receive(SMTPReply(250, "OK"))
        #expect(machine.receive(SMTPReply(354, "go ahead")) == .sendMessage)
        let reply = SMTPReply(code, "try later")
        #expect(machine.receive(reply) == .finished(.deferred(reply.description), reusable: false))
        #expect(!machine.isReady)
    }

    @Test(arguments: [550, 552, 554])
    func aPermanentReplyToTheMessageRejectsItWithTheReply(code: Int) throws {
        var machine = try self.readyMachine()
        _ = machine.startTransaction(from: "f@example.com", to: ["a@example.com"], size: 5)
        _ = machine.receive(SMTPReply(250, "OK"))
        _ = machine.receive(SMTPReply(250, "OK"))
        #expect(machine.receive(SMTPReply(354, "go ahead")) == .sendMessage)
        let reply = SMTPReply(code, "5.7.1 spam", "second line")
        #expect(machine.receive(reply) == .finished(.rejected(reply), reusable: false))
        #expect(!machine.isReady)
    }

    @Test func aPipelinedFailureAtMAILWaitsForEveryReplyThenReportsTheFirstFailure() throws {
        var machine = try self.readyMachine("PIPELINING")
        _ = machine.startTransaction(from: "f@example.com", to: ["a@example.com"], size: 5)
        let refusal = SMTPReply(550, "5.7.1 sender refused")
        #expect(machine.receive(refusal) == Machine.Action.none)
        #expect(machine.receive(SMTPReply(503, "5.5.1 MAIL first")) == Machine.Action.none)
        #expect(machine.receive(SMTPReply(503, "5.5.1 MAIL first")) == .finished(.rejected(refusal), reusable: false))
        #expect(!machine.isReady)
    }

    @Test func aPipelinedFailureAtRCPTNeverSendsTheMessageEvenIfDATAWasAccepted() throws {
        var machine = try self.readyMachine("PIPELINING")
        _ = machine.startTransaction(from: "f@example.com", to: ["a@example.com", "b@example.com"], size: 5)
        let refusal = SMTPReply(550, "5.1.1 no such user")
        #expect(machine.receive(SMTPReply(250, "OK")) == Machine.Action.none)
        #expect(machine.receive(SMTPReply(250, "OK")) == Machine.Action.none)
        #expect(machine.receive(refusal) == Machine.Action.none)
        // One recipient was accepted, so the relay takes DATA; the message must not go to half of them.
        #expect(machine.receive(SMTPReply(354, "go ahead")) == .finished(.rejected(refusal), reusable: false))
    }

    @Test func aTransientPipelinedFailureDefers() throws {
        var machine = try self.readyMachine("PIPELINING")
        _ = machine.startTransaction(from: "f@example.com", to: ["a@example.com"], size: 5)
        let refusal = SMTPReply(451, "4.3.0 greylisted")
        #expect(machine.receive(SMTPReply(250, "OK")) == Machine.Action.none)
        #expect(machine.receive(refusal) == Machine.Action.none)
        #expect(machine.receive(SMTPReply(554, "5.5.1 no valid recipients")) == .finished(.deferred(refusal.description), reusable: false))
    }

    @Test func aFailureOneByOneStopsAtOnce() throws {
        var machine = try self.readyMachine()
        _ = machine.startTransaction(from: "f@example.com", to: ["a@example.com", "b@example.com"], size: 5)
        #expect(machine.receive(SMTPReply(250, "OK")) == .send("RCPT TO:<a@example.com>\r\n"))
        let refusal = SMTPReply(550, "5.1.1 no such user")
        #expect(machine.receive(refusal) == .finished(.rejected(refusal), reusable: false))
        #expect(machine.receive(SMTPReply(250, "late")) == Machine.Action.none)
    }

    @Test func dataAnsweredWithAnythingBut354IsAFailure() throws {
        var one = try self.readyMachine()
        _ = one.startTransaction(from: "f@example.com", to: ["a@example.com"], size: 5)
        _ = one.receive(SMTPReply(250, "OK"))
        _ = one.receive(SMTPReply(250, "OK"))
        let refusal = SMTPReply(554, "5.5.1 no")
        #expect(one.receive(refusal) == .finished(.rejected(refusal), reusable: false))

        var odd = try self.readyMachine("PIPELINING")
        _ = odd.startTransaction(from: "f@example.com", to: ["a@example.com"], size: 5)
        _ = odd.receive(SMTPReply(250, "OK"))
        _ = odd.receive(SMTPReply(250, "OK"))
        guard case .finished(.deferred(let reason), let reusable) = odd.receive(SMTPReply(250, "DATA? sure")) else {
            Issue.record("a 250 to DATA is not a delivery")
            return
        }
        #expect(!reusable)
        #expect(reason.contains("250 DATA? sure"))
    }

    @Test func aTransactionNeedsAReadySessionAndARecipient() throws {
        var fresh = Machine(heloName: "mailer.local", security: .plain, credentials: nil)
        #expect(self.isFail(fresh.startTransaction(from: "f@example.com", to: ["a@example.com"], size: 1)))

        var ready = try self.readyMachine()
        #expect(self.isFail(ready.startTransaction(from: "f@example.com", to: [], size: 1)))

        var busy = try self.readyMachine("PIPELINING")
        _ = busy.startTransaction(from: "f@example.com", to: ["a@example.com"], size: 1)
        #expect(self.isFail(busy.startTransaction(from: "f@example.com", to: ["a@example.com"], size: 1)))
    }

    // MARK: - DATA payload

    @Test(arguments: [
        ("Subject: x\r\n\r\nbody\r\n", "Subject: x\r\n\r\nbody\r\n.\r\n"),
        ("no final line end", "no final line end\r\n.\r\n"),
        (".leading\r\n..two\r\nmid.dle\r\n.\r\n", "..leading\r\n...two\r\nmid.dle\r\n..\r\n.\r\n"),
        ("bare\nline\nends\n", "bare\r\nline\r\nends\r\n.\r\n"),
        ("mixed\r\n.dot\nafter bare\n.", "mixed\r\n..dot\r\nafter bare\r\n..\r\n.\r\n"),
        (".", "..\r\n.\r\n"),
        ("", ".\r\n"),
        ("\n\n", "\r\n\r\n.\r\n"),
    ])
    func theDataPayloadIsDotStuffedCRLFAndTerminated(message: String, payload: String) {
        #expect(String(decoding: Machine.dataPayload(message), as: UTF8.self) == payload)
    }

    @Test func theDataPayloadNeverEndsEarlyAndHasNoBareLF() {
        // A message made of the nastiest lines: its payload has exactly one terminator, at the end.
        let message = ["", ".", "..", ". ", ".\r", "x.", "\r", "é.", ".é"].joined(separator: "\n") + "\r\n.\r\n.\n"
        let payload = Machine.dataPayload(message)
        let terminator = Array("\r\n.\r\n".utf8)
        let ends = (0...(payload.count - terminator.count)).filter { Array(payload[$0..<($0 + terminator.count)]) == terminator }
        #expect(ends == [payload.count - terminator.count])
        #expect(!payload.starts(with: Array(".\r\n".utf8)))
        for (index, byte) in payload.enumerated() where byte == 10 { #expect(index > 0 && payload[index - 1] == 13) }
        // Undoing the stuffing gives the message back, line by line.
        let body = String(decoding: payload.dropLast(terminator.count), as: UTF8.self)
        let lines = body.components(separatedBy: "\r\n").map { $0.hasPrefix(".") ? String($0.dropFirst()) : $0 }
        let original = message.replacingOccurrences(of: "\r\n", with: "\n").components(separatedBy: "\n").dropLast()
        #expect(lines == Array(original))
    }
}

/// What the review of the transport found: a refusal before a lost connection stands, 421 ends a
/// transaction at once, EHLO falls back to HELO only for "not implemented", and `optional`
/// STARTTLS goes on in clear after a 454.
@Suite struct SMTPClientStateMachineReviewTests {
    static func ready(_ security: SMTPClientStateMachine.Security = .plain, ehlo: [String] = ["relay", "PIPELINING"]) -> SMTPClientStateMachine {
        var machine = SMTPClientStateMachine(heloName: "mailer", security: security, credentials: nil)
        _ = machine.receive(SMTPReply(220, "relay"))
        _ = machine.receive(SMTPReply(code: 250, lines: ehlo))
        return machine
    }

    @Test func aPipelinedRefusalIsKeptWhenTheRelayHangsUp() {
        var machine = Self.ready()
        _ = machine.startTransaction(from: "a@b", to: ["c@d"], size: 10)
        #expect(machine.receive(SMTPReply(250, "ok")) == .none)
        #expect(machine.receive(SMTPReply(550, "5.1.1 no such user")) == .none)
        #expect(machine.transactionFailure == SMTPReply(550, "5.1.1 no such user"))
    }

    @Test func a421EndsTheTransactionAtOnce() {
        var machine = Self.ready()
        _ = machine.startTransaction(from: "a@b", to: ["c@d"], size: 10)
        #expect(machine.receive(SMTPReply(421, "4.3.2 shutting down")) == .finished(.deferred("421 4.3.2 shutting down"), reusable: false))
    }

    @Test func ehloFallsBackToHeloOnlyWhenNotImplemented() {
        var old = SMTPClientStateMachine(heloName: "mailer", security: .plain, credentials: nil)
        _ = old.receive(SMTPReply(220, "relay"))
        #expect(old.receive(SMTPReply(502, "not implemented")) == .send("HELO mailer\r\n"))
        var busy = SMTPClientStateMachine(heloName: "mailer", security: .plain, credentials: nil)
        _ = busy.receive(SMTPReply(220, "relay"))
        guard case .fail = busy.receive(SMTPReply(421, "busy")) else {
            Issue.record("a 421 to EHLO ends the session")
            return
        }
    }

    @Test func optionalSTARTTLSGoesOnInClearAfter454() {
        var machine = Self.ready(.startTLS(required: false), ehlo: ["relay", "STARTTLS"])
        #expect(machine.receive(SMTPReply(454, "4.7.0 TLS not available")) == .sessionReady)
        var required = Self.ready(.startTLS(required: true), ehlo: ["relay", "STARTTLS"])
        guard case .fail = required.receive(SMTPReply(454, "4.7.0 TLS not available")) else {
            Issue.record("required STARTTLS refused ends the session")
            return
        }
    }
}
