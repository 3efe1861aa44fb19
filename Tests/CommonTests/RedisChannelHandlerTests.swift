import NIOCore
import NIOEmbedded
import NIOSSL
import Testing

@testable import Redis

/// The connection's channel handler without a socket (NIO's embedded channel): what a reply
/// `-READONLY` and a refused TLS handshake do to the commands on the connection.
@Suite struct RedisChannelHandlerTests {
    static func request(_ channel: EmbeddedChannel) -> EventLoopPromise<RESPValue> {
        let promise = channel.eventLoop.makePromise(of: RESPValue.self)
        // Not writeOutbound: it throws when the write fails, which is the case under test.
        channel.writeAndFlush(RedisRequest(bytes: ByteBuffer(string: "*1\r\n$4\r\nPING\r\n"), reply: promise, timeout: .seconds(5)), promise: nil)
        return promise
    }

    /// A primary demoted to a replica answers writes `-READONLY`: the command fails as
    /// `unavailable` (transient: a 503, a retry), and the connection closes with what was
    /// pipelined behind it, so the next connection asks the sentinels again.
    @Test func aReadOnlyReplyClosesTheConnection() throws {
        let channel = EmbeddedChannel(handler: RedisChannelHandler())
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 6379)).wait()
        let first = Self.request(channel)
        let second = Self.request(channel)
        try channel.writeInbound(ByteBuffer(string: "-READONLY You can't write against a read only replica.\r\n"))
        #expect(throws: RedisClientError.self) { try first.futureResult.wait() }
        do {
            _ = try first.futureResult.wait()
        } catch let error as RedisClientError {
            #expect(error.isTransient)
            #expect(error.description.contains("READONLY"))
        }
        #expect(throws: RedisClientError.connectionClosed) { try second.futureResult.wait() }
        #expect(!channel.isActive)
    }

    /// A handshake refused before the first command was written (a fast server): that command,
    /// and any later one, fails with the handshake's reason, not "connection closed".
    @Test func aCommandAfterARefusedHandshakeGetsItsReason() throws {
        let channel = EmbeddedChannel(handler: RedisChannelHandler())
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 6379)).wait()
        channel.pipeline.fireErrorCaught(NIOSSLError.handshakeFailed(.sslError([])))
        let late = Self.request(channel)
        do {
            _ = try late.futureResult.wait()
            Issue.record("a command on a failed connection succeeded")
        } catch let error as RedisClientError {
            #expect(error.isTransient)
            #expect(error.description.contains("TLS handshake failed"), "\(error)")
        }
    }
}
