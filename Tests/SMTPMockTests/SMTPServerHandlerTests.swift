import Common
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import NIOPosix
import ServiceLifecycle
import TestSupport
import Testing

@testable import SMTPMock

/// The SMTP handler on an in-memory channel: how bytes become lines and replies (pipelining,
/// split packets, over-long lines, STARTTLS, storing a message) without a socket.
@Suite(.timeLimit(.minutes(1))) struct SMTPServerHandlerTests {
    /// The messages handed to the inbox.
    final class Deliveries: Sendable {
        let mails = NIOLockedValueBox<[ReceivedMail]>([])
        var all: [ReceivedMail] { self.mails.withLockedValue { $0 } }
    }

    static func configuration(maxMessageBytes: Int = 4096, tlsAvailable: Bool = true) -> SMTPServerStateMachine.Configuration {
        .init(hostname: "mock.test", maxMessageBytes: maxMessageBytes, maxRecipients: 10, tlsAvailable: tlsAvailable, credentials: nil)
    }

    /// A connected channel running the handler; `stored` is what the inbox answers, after `delay`.
    static func channel(
        _ configuration: SMTPServerStateMachine.Configuration = Self.configuration(),
        refuse: Bool = false,
        stored: Bool = true,
        delay: Duration = .zero,
        deliveries: Deliveries = Deliveries()
    ) async throws -> NIOAsyncTestingChannel {
        let channel = try await NIOAsyncTestingChannel { channel in
            let handler = SMTPServerHandler(machine: SMTPServerStateMachine(configuration: configuration), tlsContext: nil, refuse: refuse) { mail in
                if delay > .zero { try? await Task.sleep(for: delay) }
                deliveries.mails.withLockedValue { $0.append(mail) }
                return stored
            }
            try channel.pipeline.syncOperations.addHandler(handler)
        }
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 25)).get()
        return channel
    }

    static func write(_ channel: NIOAsyncTestingChannel, _ text: String) async throws {
        try await channel.writeInbound(ByteBuffer(string: text))
    }

    /// Everything written so far.
    static func written(_ channel: NIOAsyncTestingChannel) async throws -> String {
        var text = ""
        while let buffer = try await channel.readOutbound(as: ByteBuffer.self) { text += String(buffer: buffer) }
        return text
    }

    /// The codes of the complete replies in `text`.
    static func codes(_ text: String) throws -> [Int] {
        var parser = SMTPReplyParser()
        var codes: [Int] = []
        for line in text.split(separator: "\r\n") {
            if let reply = try parser.consume(line: line) { codes.append(reply.code) }
        }
        return codes
    }

    /// What is written until `count` replies are complete (some come after an asynchronous store).
    static func replies(_ channel: NIOAsyncTestingChannel, count: Int) async throws -> String {
        var text = try await Self.written(channel)
        while try Self.codes(text).count < count {
            text += String(buffer: try await channel.waitForOutboundWrite(as: ByteBuffer.self))
            text += try await Self.written(channel)
        }
        return text
    }

    /// A channel past the greeting.
    static func greeted(_ channel: NIOAsyncTestingChannel) async throws {
        #expect(try await Self.written(channel) == "220 mock.test ESMTP Registrar SMTP mock\r\n")
    }

    @Test func theGreetingIsWrittenOnConnect() async throws {
        let channel = try await Self.channel()
        try await Self.greeted(channel)
    }

    @Test func pipelinedCommandsInOneWriteAreAnsweredInOrder() async throws {
        let channel = try await Self.channel()
        try await Self.greeted(channel)
        try await Self.write(channel, "EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n")
        let replies = try await Self.written(channel)
        #expect(try Self.codes(replies) == [250, 250, 250, 354])
        #expect(replies.hasSuffix("250 2.1.5 OK\r\n354 End data with <CR><LF>.<CR><LF>\r\n"))
    }

    @Test func theEndOfDataDeliversOnceThenAnswers250() async throws {
        let deliveries = Deliveries()
        let channel = try await Self.channel(deliveries: deliveries)
        try await Self.greeted(channel)
        try await Self.write(channel, "EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n")
        #expect(try Self.codes(try await Self.written(channel)) == [250, 250, 250, 354])
        try await Self.write(channel, "Subject: hi\r\n\r\n..dot\r\nbody\r\n")
        #expect(try await Self.written(channel) == "", "nothing is answered to message lines")
        try await Self.write(channel, "\r\n.\r\n")
        #expect(try await Self.replies(channel, count: 1) == "250 2.0.0 OK: message accepted\r\n")
        #expect(deliveries.all == [ReceivedMail(sender: "a@b", recipients: ["c@d"], data: Array("Subject: hi\r\n\r\n.dot\r\nbody\r\n\r\n".utf8))])
    }

    @Test func aSessionSentByteByByteIsTheSameSession() async throws {
        let deliveries = Deliveries()
        let channel = try await Self.channel(deliveries: deliveries)
        try await Self.greeted(channel)
        for byte in "EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nline\r\n.\r\n".utf8 {
            try await channel.writeInbound(ByteBuffer(bytes: [byte]))
        }
        #expect(try Self.codes(try await Self.replies(channel, count: 5)) == [250, 250, 250, 354, 250])
        #expect(deliveries.all.map(\.data) == [Array("line\r\n".utf8)])
    }

    @Test func commandsAfterTheMessageWaitUntilItIsStored() async throws {
        let deliveries = Deliveries()
        let channel = try await Self.channel(delay: .milliseconds(100), deliveries: deliveries)
        try await Self.greeted(channel)
        try await Self.write(channel, "EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nline\r\n.\r\nNOOP\r\nMAIL FROM:<e@f>\r\n")
        let replies = try await Self.replies(channel, count: 7)
        let lines = replies.split(separator: "\r\n").map(String.init)
        #expect(
            Array(lines.suffix(3)) == ["250 2.0.0 OK: message accepted", "250 2.0.0 OK", "250 2.1.0 OK"],
            "the NOOP waits for the message's reply"
        )
        #expect(deliveries.all.count == 1)
    }

    @Test func aMessageThatCannotBeStoredGets451() async throws {
        let channel = try await Self.channel(stored: false)
        try await Self.greeted(channel)
        try await Self.write(channel, "EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nline\r\n.\r\n")
        #expect(try Self.codes(try await Self.replies(channel, count: 5)) == [250, 250, 250, 354, 451])
    }

    @Test func whatFollowsSTARTTLSInTheSamePacketIsDropped() async throws {
        let channel = try await Self.channel()
        try await Self.greeted(channel)
        try await Self.write(channel, "EHLO x\r\n")
        #expect(try Self.codes(try await Self.written(channel)) == [250])
        try await Self.write(channel, "STARTTLS\r\nNOOP\r\n")
        #expect(try await Self.written(channel) == "220 2.0.0 Ready to start TLS\r\n")
        // The connection still reads: only what came with STARTTLS was dropped.
        try await Self.write(channel, "NOOP\r\n")
        #expect(try await Self.written(channel) == "250 2.0.0 OK\r\n")
    }

    @Test func anOverlongCommandGetsOne500AndItsTailIsDiscarded() async throws {
        let channel = try await Self.channel()
        try await Self.greeted(channel)
        try await Self.write(channel, String(repeating: "A", count: 600))
        #expect(try Self.codes(try await Self.written(channel)) == [500])
        try await Self.write(channel, String(repeating: "A", count: 600))
        #expect(try await Self.written(channel) == "", "still the same line")
        try await Self.write(channel, "AAAA\r\nNOOP\r\n")
        #expect(try await Self.written(channel) == "250 2.0.0 OK\r\n", "the tail of the long line is not a command")
        // A long line that arrives whole, with its line end.
        try await Self.write(channel, String(repeating: "B", count: 600) + "\r\nNOOP\r\n")
        #expect(try Self.codes(try await Self.written(channel)) == [500, 250])
    }

    @Test func anOverlongLineInAMessageRefusesIt() async throws {
        let deliveries = Deliveries()
        let channel = try await Self.channel(deliveries: deliveries)
        try await Self.greeted(channel)
        try await Self.write(channel, "EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n")
        _ = try await Self.written(channel)
        try await Self.write(channel, "short\r\n" + String(repeating: "x", count: 1500) + "\r\nafter\r\n.\r\n")
        let reply = try await Self.written(channel)
        #expect(reply.hasPrefix("554 "), "\(reply)")
        #expect(deliveries.all.isEmpty)
    }

    @Test func noMessageCanBeSmuggledBehindABareLFTerminator() async throws {
        let deliveries = Deliveries()
        let channel = try await Self.channel(deliveries: deliveries)
        try await Self.greeted(channel)
        try await Self.write(channel, "EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n")
        _ = try await Self.written(channel)
        try await Self.write(channel, "first\n.\nMAIL FROM:<evil@b>\r\nRCPT TO:<victim@d>\r\nDATA\r\nsecond\n.\r\nNOOP\r\n")
        #expect(try await Self.written(channel) == "", "all of it is one message")
        try await Self.write(channel, ".\r\n")
        #expect(try Self.codes(try await Self.written(channel)) == [554])
        #expect(deliveries.all.isEmpty)
    }

    /// An over-long line ending in a bare LF, then `.` CRLF: not `CRLF.CRLF` either, whether the
    /// long line arrives whole or its end comes in a later packet.
    @Test(arguments: [false, true])
    func noMessageCanBeSmuggledBehindAnOverlongBareLFLine(split: Bool) async throws {
        let deliveries = Deliveries()
        let channel = try await Self.channel(deliveries: deliveries)
        try await Self.greeted(channel)
        try await Self.write(channel, "EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n")
        _ = try await Self.written(channel)
        let long = String(repeating: "a", count: 1200)
        if split {
            try await Self.write(channel, long)
            try await Self.write(channel, "aaaa\n.\r\nMAIL FROM:<evil@b>\r\nRCPT TO:<victim@d>\r\nDATA\r\nsmuggled\r\n")
        } else {
            try await Self.write(channel, long + "\n.\r\nMAIL FROM:<evil@b>\r\nRCPT TO:<victim@d>\r\nDATA\r\nsmuggled\r\n")
        }
        #expect(try await Self.written(channel) == "", "all of it is one message")
        try await Self.write(channel, ".\r\n")
        #expect(try Self.codes(try await Self.written(channel)) == [554])
        #expect(deliveries.all.isEmpty)
    }

    @Test func repliesWaitWhileThePeerReadsNothing() async throws {
        let channel = try await Self.channel()
        try await Self.greeted(channel)
        channel.isWritable = false
        try await channel.testingEventLoop.executeInContext { channel.pipeline.fireChannelWritabilityChanged() }
        try await Self.write(channel, "NOOP\r\nNOOP\r\n")
        #expect(try await Self.written(channel) == "", "nothing is answered while the peer does not read")
        channel.isWritable = true
        try await channel.testingEventLoop.executeInContext { channel.pipeline.fireChannelWritabilityChanged() }
        #expect(try Self.codes(try await Self.written(channel)) == [250, 250])
    }

    @Test func aBareLFCommandIsRefused() async throws {
        let channel = try await Self.channel()
        try await Self.greeted(channel)
        try await Self.write(channel, "NOOP\nNOOP\r\n")
        #expect(try Self.codes(try await Self.written(channel)) == [500, 250])
    }

    @Test func quitAnswersThenCloses() async throws {
        let channel = try await Self.channel()
        try await Self.greeted(channel)
        try await Self.write(channel, "QUIT\r\nNOOP\r\n")
        #expect(try await Self.written(channel) == "221 2.0.0 Bye\r\n")
        try await channel.closeFuture.get()
        #expect(!channel.isActive)
    }

    @Test func aRefusedConnectionGets421ThenCloses() async throws {
        let channel = try await Self.channel(refuse: true)
        #expect(try await Self.written(channel) == "421 4.3.2 Too many connections; try again later\r\n")
        try await channel.closeFuture.get()
    }

    @Test func tooMuchPipelinedInputCloses() async throws {
        let channel = try await Self.channel(Self.configuration(maxMessageBytes: 1024))
        try await Self.greeted(channel)
        try await Self.write(channel, String(repeating: "NOOP\r\n", count: 12_000))
        #expect(try await Self.written(channel) == "421 4.7.0 Too much input; closing\r\n")
        try await channel.closeFuture.get()
    }
}

/// The SMTP listener on a real socket, storing into the inbox on Redis (`TEST_REDIS_URL`).
@Suite(.timeLimit(.minutes(1))) struct SMTPListenerTests {
    /// A message like the mailer's (see ``MIMEParserTests``), with `id` as its Message-ID.
    static func message(id: String) -> String {
        var lines = Array(MIMEParserTests.mailerMessage.dropLast())
        lines[5] = "Message-ID: <\(id)>"
        lines.append(".starts with a dot")
        // Dot-stuffed, as a client must.
        return lines.map { $0.hasPrefix(".") ? "." + $0 : $0 }.joined(separator: "\r\n") + "\r\n"
    }

    /// Sends `commands` and reads replies until `count` have arrived.
    static func converse(
        _ inbound: inout NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator,
        _ outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>,
        _ commands: String,
        replies count: Int
    ) async throws -> [SMTPReply] {
        if !commands.isEmpty { try await outbound.write(ByteBuffer(string: commands)) }
        var parser = SMTPReplyParser()
        var replies: [SMTPReply] = []
        var pending = ""
        while replies.count < count {
            guard let buffer = try await inbound.next() else { throw ChannelError.eof }
            pending += String(buffer: buffer)
            while let end = pending.range(of: "\r\n") {
                if let reply = try parser.consume(line: pending[..<end.lowerBound]) { replies.append(reply) }
                pending = String(pending[end.upperBound...])
            }
        }
        return replies
    }

    @Test func aMessageSentOverSMTPLandsInTheInboxOnce() async throws {
        let logger = TestEnvironment.logger("smtp-listener-test")
        let redis = RedisClient(configuration: try TestEnvironment.redisConfiguration(), logger: logger)
        let inbox = Inbox(redis: redis, stream: "test:smtp:\(UUID().uuidString.prefix(8))", retention: .seconds(300))
        let port = try RedisServerProcess.freePort()
        let listener = SMTPListener(
            settings: try SMTPListenerSettings(
                environment: TestEnvironment.reader([
                    "SMTP_MOCK_SMTP_HOST": "127.0.0.1", "SMTP_MOCK_SMTP_PORT": "\(port)", "SMTP_MOCK_HOSTNAME": "mock.test",
                    "SMTP_MOCK_MAX_MESSAGE_BYTES": "65536",
                ])
            ),
            postman: Postman(inbox: inbox, metrics: SMTPMockMetrics(), logger: logger),
            logger: logger
        )
        let group = ServiceGroup(configuration: .init(services: [listener], logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            defer { Task { await group.triggerGracefulShutdown() } }

            var connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>?
            for _ in 0..<100 where connection == nil {
                connection = try? await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                    .connect(host: "127.0.0.1", port: port) { channel in
                        channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
                    }
                if connection == nil { try await Task.sleep(for: .milliseconds(50)) }
            }
            let client = try #require(connection, "the listener never accepted a connection")
            let id = "\(UUID().uuidString.lowercased())@registrar.local"
            try await client.executeThenClose { inbound, outbound in
                var replies = inbound.makeAsyncIterator()
                #expect(try await Self.converse(&replies, outbound, "", replies: 1).map(\.code) == [220])
                let ehlo = try #require(try await Self.converse(&replies, outbound, "EHLO client.test\r\n", replies: 1).first)
                #expect(ehlo.lines.contains("PIPELINING") && ehlo.lines.contains("SIZE 65536"))
                for _ in 0..<2 {
                    let transaction = "MAIL FROM:<no-reply@registrar.local> SIZE=3000\r\nRCPT TO:<anna@example.com>\r\nDATA\r\n"
                    #expect(try await Self.converse(&replies, outbound, transaction, replies: 3).map(\.code) == [250, 250, 354])
                    let stored = try await Self.converse(&replies, outbound, Self.message(id: id) + ".\r\n", replies: 1)
                    #expect(stored.map(\.code) == [250], "a duplicate is acknowledged too: \(stored)")
                }
                #expect(try await Self.converse(&replies, outbound, "QUIT\r\n", replies: 1).map(\.code) == [221])
            }

            let stored = try #require(try await inbox.message(id: id))
            #expect(stored.to == "anna@example.com")
            #expect(stored.subject == "Vérifiez votre adresse électronique pour activer votre compte Registrar")
            #expect(stored.body.hasPrefix("Votre code est 0427\r\n"))
            #expect(stored.html?.contains(">0427</strong>") == true)
            #expect(stored.raw.contains("Message-ID: <\(id)>\r\n"))
            #expect(stored.raw.hasSuffix("--=_registrar_5ab3c0ff1e--\r\n.starts with a dot\r\n"), "unstuffed")
            #expect(try await inbox.list(to: "anna@example.com", limit: 10).map(\.id) == [id], "stored once")
            try await inbox.clear()
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        await redis.shutdown()
    }
}
