import Common
import NIOCore
import NIOEmbedded
import NIOTLS
import Testing

@testable import Mailer

/// The mailer's reading side of a relay connection: replies in order, and the end of the
/// STARTTLS handshake in order with them, so no reply sent in clear passes as one sent over TLS.
@Suite struct SMTPClientInboundHandlerTests {
    static func read(_ channel: EmbeddedChannel) throws -> [SMTPInbound] {
        var items: [SMTPInbound] = []
        while let item = try channel.readInbound(as: SMTPInbound.self) { items.append(item) }
        return items
    }

    @Test func repliesAreAssembledAcrossPackets() throws {
        let channel = EmbeddedChannel(handler: SMTPClientInboundHandler())
        try channel.writeInbound(ByteBuffer(string: "250-relay\r\n250-PIPE"))
        #expect(try Self.read(channel).isEmpty)
        try channel.writeInbound(ByteBuffer(string: "LINING\r\n250 SIZE 100\r\n354 go\n"))
        #expect(try Self.read(channel) == [.reply(SMTPReply(code: 250, lines: ["relay", "PIPELINING", "SIZE 100"])), .reply(SMTPReply(354, "go"))])
    }

    /// A man in the middle answers STARTTLS and, in the same packet, the replies to what the
    /// client will send over TLS: they arrive before the handshake's end, which the session sees
    /// while it waits for TLS, and refuses.
    @Test func repliesSentInClearComeBeforeTheHandshake() throws {
        let channel = EmbeddedChannel(handler: SMTPClientInboundHandler())
        try channel.writeInbound(ByteBuffer(string: "220 go ahead\r\n250 injected\r\n"))
        channel.pipeline.fireUserInboundEventTriggered(TLSUserEvent.handshakeCompleted(negotiatedProtocol: nil))
        #expect(try Self.read(channel) == [.reply(SMTPReply(220, "go ahead")), .reply(SMTPReply(250, "injected")), .tlsEstablished])
        var machine = SMTPClientStateMachine(heloName: "mailer", security: .startTLS(required: true), credentials: nil)
        _ = machine.receive(SMTPReply(220, "relay"))
        _ = machine.receive(SMTPReply(code: 250, lines: ["relay", "STARTTLS"]))
        #expect(machine.receive(SMTPReply(220, "go ahead")) == .startTLS)
        guard case .fail = machine.receive(SMTPReply(250, "injected")) else {
            Issue.record("a reply during the handshake must end the session")
            return
        }
    }

    @Test func aPartialLineSentInClearIsReportedAtTheHandshake() throws {
        let channel = EmbeddedChannel(handler: SMTPClientInboundHandler())
        try channel.writeInbound(ByteBuffer(string: "220 go ahead\r\n250 inj"))
        channel.pipeline.fireUserInboundEventTriggered(TLSUserEvent.handshakeCompleted(negotiatedProtocol: nil))
        #expect(try Self.read(channel) == [.reply(SMTPReply(220, "go ahead")), .plaintextAfterSTARTTLS])
        try channel.writeInbound(ByteBuffer(string: "250 over TLS\r\n"))
        #expect(try Self.read(channel) == [.reply(SMTPReply(250, "over TLS"))], "the clear bytes were dropped")
    }

    @Test func aMalformedReplyClosesTheConnection() throws {
        let channel = EmbeddedChannel(handler: SMTPClientInboundHandler())
        #expect(throws: SMTPReplyParser.Malformed.self) { try channel.writeInbound(ByteBuffer(string: "hello\r\n")) }
        #expect(!channel.isActive)
    }
}
