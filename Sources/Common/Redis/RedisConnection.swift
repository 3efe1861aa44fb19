import NIOCore
import NIOPosix

/// One pipelined connection to Redis: any number of tasks may send on it at once; replies are
/// matched in order by ``RedisChannelHandler``.
public final class RedisConnection: Sendable, RedisCommandExecutor {
    let channel: any Channel
    private let commandTimeout: Duration

    private init(channel: any Channel, commandTimeout: Duration) {
        self.channel = channel
        self.commandTimeout = commandTimeout
    }

    /// Opens a connection, then authenticates and selects the database from `configuration`.
    static func connectFuture(configuration: RedisConfiguration, eventLoop: any EventLoop) -> EventLoopFuture<RedisConnection> {
        ClientBootstrap(group: eventLoop)
            .connectTimeout(.init(configuration.connectTimeout))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.socketOption(.so_keepalive), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(RedisChannelHandler())
                }
            }
            .connect(host: configuration.host, port: configuration.port)
            .flatMap { channel in
                let connection = RedisConnection(channel: channel, commandTimeout: configuration.commandTimeout)
                return connection.handshake(configuration).map { connection }.flatMapErrorThrowing { error in
                    channel.close(promise: nil)
                    throw error
                }
            }
    }

    private func handshake(_ configuration: RedisConfiguration) -> EventLoopFuture<Void> {
        var steps: [RedisCommand] = []
        if let password = configuration.password {
            steps.append(configuration.username.map { RedisCommand("AUTH", $0, password) } ?? RedisCommand("AUTH", password))
        }
        if configuration.database != 0 { steps.append(RedisCommand("SELECT", configuration.database)) }
        let replies = steps.map { self.sendFuture($0) }
        return EventLoopFuture.andAllSucceed(replies, on: self.channel.eventLoop)
    }

    /// Whether the connection is open.
    public var isActive: Bool { self.channel.isActive }

    /// A future that completes when the connection closes.
    public var closeFuture: EventLoopFuture<Void> { self.channel.closeFuture }

    /// Sends `command` and waits for its reply. Error replies throw ``RedisServerError``.
    public func send(_ command: RedisCommand) async throws -> RESPValue {
        try await self.sendFuture(command).get()
    }

    /// Sends `command`; the future completes with its reply.
    ///
    /// Encoding happens on the caller's thread; if no reply arrives within the command timeout
    /// (plus the command's own `BLOCK` time) the connection is closed, failing what is in flight.
    func sendFuture(_ command: RedisCommand) -> EventLoopFuture<RESPValue> {
        var bytes = self.channel.allocator.buffer(capacity: 32 + command.parts.reduce(0) { $0 + $1.count + 16 })
        RESPEncoder.encode(command, into: &bytes)
        let loop = self.channel.eventLoop
        let reply = loop.makePromise(of: RESPValue.self)
        let timeout = self.commandTimeout + (command.blockTimeout ?? .zero)
        let channel = self.channel
        let timer = loop.scheduleTask(in: .init(timeout)) {
            reply.fail(RedisClientError.timeout)
            channel.close(promise: nil)
        }
        reply.futureResult.whenComplete { _ in timer.cancel() }
        let written = loop.makePromise(of: Void.self)
        written.futureResult.whenFailure { _ in reply.fail(RedisClientError.connectionClosed) }
        self.channel.writeAndFlush(RedisRequest(bytes: bytes, reply: reply), promise: written)
        return reply.futureResult
    }

    /// Closes the connection; in-flight commands fail with ``RedisClientError/connectionClosed``.
    public func close() async {
        try? await self.channel.close()
    }
}
