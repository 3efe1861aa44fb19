import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ServiceLifecycle

/// The Redis client of every service: a small pool of pipelined connections, run as a `Service`.
///
/// Commands are spread round-robin over `poolSize` multiplexed connections (each pipelines any
/// number of commands). A connection that drops is replaced on the next command; when connecting
/// fails, that slot backs off exponentially and commands fail fast with
/// ``RedisClientError/unavailable(_:)`` instead of queueing, so callers can answer 503 at once.
/// Blocking reads (`XREADGROUP … BLOCK`) use ``dedicatedConnection()``, never the pool.
public final class RedisClient: Service, RedisCommandExecutor {
    /// The configuration in use.
    public let configuration: RedisConfiguration
    private let slots: [RedisConnectionSlot]
    private let cursor = NIOLockedValueBox(0)
    private let eventLoopGroup: any EventLoopGroup
    private let logger: Logger

    /// Creates a client; nothing connects until the first command.
    public init(
        configuration: RedisConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        backoff: Backoff = Backoff(),
        logger: Logger
    ) {
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
        self.slots = (0..<max(1, configuration.poolSize)).map { index in
            RedisConnectionSlot(
                index: index,
                configuration: configuration,
                eventLoop: eventLoopGroup.next(),
                backoff: backoff,
                logger: logger
            )
        }
    }

    /// Waits for graceful shutdown, then closes every connection (in-flight commands complete first
    /// only if their replies arrive before the close).
    public func run() async throws {
        try? await gracefulShutdown()
        await self.shutdown()
    }

    /// Closes all connections; later commands fail with ``RedisClientError/shutDown``.
    public func shutdown() async {
        for slot in self.slots { await slot.shutdown() }
    }

    public func send(_ command: RedisCommand) async throws -> RESPValue {
        try await self.connection().send(command)
    }

    /// Runs `body` on one pooled connection, for commands that must share it (`WAIT` after a
    /// write). The connection stays shared with other tasks meanwhile.
    public func withConnection<Result: Sendable>(_ body: (RedisConnection) async throws -> Result) async throws -> Result {
        try await body(self.connection())
    }

    /// A connection from the pool, round-robin. The next slot's connection if it is open;
    /// otherwise that slot connects, in the background while another slot's connection carries
    /// this command, so the pool grows to `REDIS_POOL_SIZE` connections under use (each slot
    /// connects, or fails fast while backing off).
    func connection() async throws -> RedisConnection {
        let start = self.cursor.withLockedValue { value in
            defer { value = (value &+ 1) % self.slots.count }
            return value
        }
        let slot = self.slots[start]
        if let connection = slot.connectedConnection { return connection }
        for offset in 1..<max(self.slots.count, 1) {
            if let connection = self.slots[(start + offset) % self.slots.count].connectedConnection {
                _ = slot.connect()  // its outcome is the slot's (logged, backed off); this command goes on
                return connection
            }
        }
        return try await slot.connect().get()
    }

    /// A new connection outside the pool, for blocking commands; the caller closes it.
    public func dedicatedConnection() async throws -> RedisConnection {
        do {
            return try await RedisConnection.connectFuture(configuration: self.configuration, eventLoop: self.eventLoopGroup.next()).get()
        } catch let error as RedisServerError {
            throw error
        } catch {
            throw RedisClientError.unavailable(String(describing: error))
        }
    }
}

/// One place in the pool, with its connection state.
final class RedisConnectionSlot: Sendable {
    private enum State {
        case idle(failures: Int, retryAt: NIODeadline)
        case connecting(EventLoopFuture<RedisConnection>)
        case connected(RedisConnection)
        case shutDown
    }

    private let index: Int
    private let configuration: RedisConfiguration
    private let eventLoop: any EventLoop
    private let backoff: Backoff
    private let logger: Logger
    private let state = NIOLockedValueBox(State.idle(failures: 0, retryAt: .uptimeNanoseconds(0)))

    init(index: Int, configuration: RedisConfiguration, eventLoop: any EventLoop, backoff: Backoff, logger: Logger) {
        self.index = index
        self.configuration = configuration
        self.eventLoop = eventLoop
        self.backoff = backoff
        self.logger = logger
    }

    /// The open connection, if there is one.
    var connectedConnection: RedisConnection? {
        self.state.withLockedValue { state in
            if case .connected(let connection) = state, connection.isActive { return connection }
            return nil
        }
    }

    /// The slot's connection, connecting if needed; fails fast while backing off.
    func connect() -> EventLoopFuture<RedisConnection> {
        enum Action {
            case done(EventLoopFuture<RedisConnection>)
            case start(EventLoopPromise<RedisConnection>, failures: Int)
        }
        let action: Action = self.state.withLockedValue { state in
            switch state {
            case .connected(let connection) where connection.isActive:
                return .done(self.eventLoop.makeSucceededFuture(connection))
            case .connecting(let future):
                return .done(future)
            case .shutDown:
                return .done(self.eventLoop.makeFailedFuture(RedisClientError.shutDown))
            case .idle(let failures, let retryAt) where retryAt > .now():
                let error = RedisClientError.unavailable(
                    "connection to \(self.configuration.target) failed \(failures) time(s); retrying"
                )
                return .done(self.eventLoop.makeFailedFuture(error))
            case .idle(let failures, _):
                let promise = self.eventLoop.makePromise(of: RedisConnection.self)
                state = .connecting(promise.futureResult)
                return .start(promise, failures: failures)
            case .connected:
                let promise = self.eventLoop.makePromise(of: RedisConnection.self)
                state = .connecting(promise.futureResult)
                return .start(promise, failures: 0)
            }
        }
        switch action {
        case .done(let future):
            return future
        case .start(let promise, let failures):
            RedisConnection.connectFuture(configuration: self.configuration, eventLoop: self.eventLoop).whenComplete { result in
                self.finishConnecting(result, previousFailures: failures, promise: promise)
            }
            return promise.futureResult
        }
    }

    private func finishConnecting(_ result: Result<RedisConnection, any Error>, previousFailures: Int, promise: EventLoopPromise<RedisConnection>) {
        switch result {
        case .success(let connection):
            let keep = self.state.withLockedValue { state -> Bool in
                guard case .connecting = state else { return false }
                state = .connected(connection)
                return true
            }
            guard keep else {
                connection.channel.close(promise: nil)
                promise.fail(RedisClientError.shutDown)
                return
            }
            if previousFailures > 0 {
                self.logger.info("redis reconnected", metadata: ["redis.slot": "\(self.index)", "redis.failures": "\(previousFailures)"])
            }
            connection.closeFuture.whenComplete { _ in
                self.state.withLockedValue { state in
                    if case .connected(let current) = state, current === connection {
                        state = .idle(failures: 0, retryAt: .uptimeNanoseconds(0))
                    }
                }
            }
            promise.succeed(connection)
        case .failure(let error):
            let failures = previousFailures + 1
            let delay = self.backoff.delay(attempt: failures)
            self.state.withLockedValue { state in
                if case .connecting = state { state = .idle(failures: failures, retryAt: .now() + .init(delay)) }
            }
            self.logger.warning(
                "redis connect failed",
                metadata: ["redis.slot": "\(self.index)", "redis.failures": "\(failures)", "error": "\(error)"]
            )
            if let serverError = error as? RedisServerError {
                promise.fail(serverError)
            } else {
                promise.fail(RedisClientError.unavailable(String(describing: error)))
            }
        }
    }

    func shutdown() async {
        let connection: RedisConnection? = self.state.withLockedValue { state in
            defer { state = .shutDown }
            if case .connected(let connection) = state { return connection }
            return nil
        }
        await connection?.close()
    }
}
