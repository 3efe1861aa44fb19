import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL

/// One pipelined connection to Redis: any number of tasks may send on it at once; replies are
/// matched in order by ``RedisChannelHandler``.
public final class RedisConnection: Sendable, RedisCommandExecutor {
    let channel: any Channel
    private let commandTimeout: Duration
    /// Why the connection failed (set by its ``RedisChannelHandler``), for commands that come after.
    private let failure: NIOLockedValueBox<RedisClientError?>

    private init(channel: any Channel, commandTimeout: Duration, failure: NIOLockedValueBox<RedisClientError?>) {
        self.channel = channel
        self.commandTimeout = commandTimeout
        self.failure = failure
    }

    /// Opens a connection, then authenticates and selects the database from `configuration`.
    /// With sentinels, the address is the primary they name, confirmed with `ROLE`.
    static func connectFuture(configuration: RedisConfiguration, eventLoop: any EventLoop) -> EventLoopFuture<RedisConnection> {
        guard let sentinel = configuration.sentinel else {
            return Self.connectFuture(configuration: configuration, host: configuration.host, port: configuration.port, eventLoop: eventLoop)
        }
        return eventLoop.makeFutureWithTask {
            let primary = try await Self.primaryAddress(sentinel: sentinel, configuration: configuration, eventLoop: eventLoop)
            return try await Self.connectFuture(configuration: configuration, host: primary.host, port: primary.port, eventLoop: eventLoop).get()
        }
    }

    /// Opens a connection to `host:port` and runs the handshake.
    static func connectFuture(
        configuration: RedisConfiguration,
        host: String,
        port: Int,
        eventLoop: any EventLoop
    ) -> EventLoopFuture<RedisConnection> {
        let failure = NIOLockedValueBox<RedisClientError?>(nil)
        let handshake = Self.handshakeCommands(configuration)
        return ClientBootstrap(group: eventLoop)
            .connectTimeout(.init(configuration.connectTimeout))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.socketOption(.so_keepalive), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls = configuration.tls {
                        // An IP address is checked against the certificate's IP entries (no SNI).
                        let isAddress = (try? SocketAddress(ipAddress: host, port: 0)) != nil
                        try channel.pipeline.syncOperations.addHandler(
                            NIOSSLClientHandler(context: tls.context, serverHostname: isAddress ? nil : host)
                        )
                    }
                    try channel.pipeline.syncOperations.addHandler(RedisChannelHandler(handshakeSteps: handshake.count, failure: failure))
                }
            }
            .connect(host: host, port: port)
            .flatMap { channel in
                let connection = RedisConnection(channel: channel, commandTimeout: configuration.commandTimeout, failure: failure)
                return connection.handshake(handshake, confirmPrimary: configuration.sentinel != nil).map { connection }.flatMapErrorThrowing {
                    error in
                    channel.close(promise: nil)
                    throw error
                }
            }
    }

    /// The handshake: AUTH and SELECT when configured; with sentinels, ROLE last (what they named
    /// may have been demoted since, or not yet promoted); over TLS without either, PING, so a
    /// connection is only handed out once the TLS handshake is done and Redis answered (a
    /// refused certificate fails the connect, and its slot backs off).
    static func handshakeCommands(_ configuration: RedisConfiguration) -> [RedisCommand] {
        var steps: [RedisCommand] = []
        if let password = configuration.password {
            steps.append(configuration.username.map { RedisCommand("AUTH", $0, password) } ?? RedisCommand("AUTH", password))
        }
        if configuration.database != 0 { steps.append(RedisCommand("SELECT", configuration.database)) }
        if configuration.sentinel != nil {
            steps.append(RedisCommand("ROLE"))
        } else if configuration.tls != nil && steps.isEmpty {
            steps.append(RedisCommand("PING"))
        }
        return steps
    }

    /// Sends the handshake's commands pipelined; with `confirmPrimary`, the last (ROLE) must say `master`.
    private func handshake(_ steps: [RedisCommand], confirmPrimary: Bool) -> EventLoopFuture<Void> {
        let replies = steps.enumerated().map { index, step in
            self.sendFuture(step).flatMapThrowing { reply in
                guard confirmPrimary, index == steps.count - 1 else { return }
                let role = reply.array?.first?.string ?? "unknown"
                guard role == "master" else {
                    throw RedisClientError.unavailable("the server the sentinels named is not the primary (ROLE \(role))")
                }
            }
        }
        return EventLoopFuture.andAllSucceed(replies, on: self.channel.eventLoop)
    }

    /// Whether the connection is open.
    public var isActive: Bool { self.channel.isActive }

    /// A future that completes when the connection closes.
    public var closeFuture: EventLoopFuture<Void> { self.channel.closeFuture }

    /// Sends `command` and waits for its reply. Error replies throw ``RedisServerError``.
    ///
    /// A cancelled caller fails at once with `CancellationError`; the reply, when it comes, is
    /// matched to its place in the pipeline and dropped, so the connection stays in step.
    public func send(_ command: RedisCommand) async throws -> RESPValue {
        let reply = self.sendPromise(command)
        return try await withTaskCancellationHandler {
            try await reply.futureResult.get()
        } onCancel: {
            reply.fail(CancellationError())
        }
    }

    /// Sends `command`; the future completes with its reply.
    func sendFuture(_ command: RedisCommand) -> EventLoopFuture<RESPValue> {
        self.sendPromise(command).futureResult
    }

    /// Sends `command`; its promise completes with the reply. Encoding happens on the caller's
    /// thread; if no reply arrives within the command timeout (plus the command's own `BLOCK`
    /// time) the connection is closed, failing what is in flight (one timer per connection).
    private func sendPromise(_ command: RedisCommand) -> EventLoopPromise<RESPValue> {
        var bytes = self.channel.allocator.buffer(capacity: 32 + command.parts.reduce(0) { $0 + $1.count + 16 })
        RESPEncoder.encode(command, into: &bytes)
        let reply = self.channel.eventLoop.makePromise(of: RESPValue.self)
        let written = self.channel.eventLoop.makePromise(of: Void.self)
        // A write NIOSSL held until the handshake fails with the handshake's error.
        // A write to a connection that failed already (its handler gone) fails with that reason.
        written.futureResult.whenFailure { error in
            reply.fail(self.failure.withLockedValue { $0 } ?? RedisClientError(connectionFailure: error))
        }
        let request = RedisRequest(bytes: bytes, reply: reply, timeout: self.commandTimeout + (command.blockTimeout ?? .zero))
        self.channel.writeAndFlush(request, promise: written)
        return reply
    }

    /// Closes the connection; in-flight commands fail with ``RedisClientError/connectionClosed``.
    public func close() async {
        try? await self.channel.close()
    }
}
