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

    /// Opens every connection of the pool, then pings every open one each `idlePingInterval` (a connection a NAT or load balancer
    /// dropped silently times out and is replaced before a request needs it) until graceful
    /// shutdown, then closes every connection (in-flight commands complete first only if their
    /// replies arrive before the close).
    public func run() async throws {
        // The pool's minimum is its size: every slot connects now, not on the first requests.
        for slot in self.slots { _ = slot.connect() }
        let interval = self.configuration.idlePingInterval
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: interval)
                for slot in self.slots {
                    if let connection = slot.connectedConnection { _ = try? await connection.send(RedisCommand("PING")) }
                }
            }
        }
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

/// One place in the pool: its ``RedisSlotStateMachine`` under a lock, and the I/O it asks for.
final class RedisConnectionSlot: Sendable {
    private typealias Machine = RedisSlotStateMachine<RedisConnection, EventLoopFuture<RedisConnection>>

    private let index: Int
    private let configuration: RedisConfiguration
    private let eventLoop: any EventLoop
    private let backoff: Backoff
    private let logger: Logger
    private let machine = NIOLockedValueBox(Machine())

    init(index: Int, configuration: RedisConfiguration, eventLoop: any EventLoop, backoff: Backoff, logger: Logger) {
        self.index = index
        self.configuration = configuration
        self.eventLoop = eventLoop
        self.backoff = backoff
        self.logger = logger
    }

    /// The open connection, if there is one.
    var connectedConnection: RedisConnection? {
        self.machine.withLockedValue { $0.openConnection(isOpen: { $0.isActive }) }
    }

    /// The slot's connection, connecting if needed; fails fast while backing off.
    func connect() -> EventLoopFuture<RedisConnection> {
        var promise: EventLoopPromise<RedisConnection>?
        let action = self.machine.withLockedValue { machine in
            machine.connect(now: .now(), isOpen: { $0.isActive }) {
                let started = self.eventLoop.makePromise(of: RedisConnection.self)
                promise = started
                return started.futureResult
            }
        }
        switch action {
        case .use(let connection):
            return self.eventLoop.makeSucceededFuture(connection)
        case .join(let future):
            return future
        case .shutDown:
            return self.eventLoop.makeFailedFuture(RedisClientError.shutDown)
        case .backingOff(let failures, _):
            let error = RedisClientError.unavailable("connection to \(self.configuration.target) failed \(failures) time(s); retrying")
            return self.eventLoop.makeFailedFuture(error)
        case .start(let future):
            guard let promise else { return future }
            RedisConnection.connectFuture(configuration: self.configuration, eventLoop: self.eventLoop).whenComplete { result in
                self.finishConnecting(result, promise: promise)
            }
            return future
        }
    }

    private func finishConnecting(_ result: Result<RedisConnection, any Error>, promise: EventLoopPromise<RedisConnection>) {
        switch result {
        case .success(let connection):
            switch self.machine.withLockedValue({ $0.connected(connection) }) {
            case .close:
                connection.channel.close(promise: nil)
                promise.fail(RedisClientError.shutDown)
            case .keep(let recovered):
                if recovered > 0 {
                    self.logger.info("redis reconnected", metadata: ["redis.slot": "\(self.index)", "redis.failures": "\(recovered)"])
                }
                connection.closeFuture.whenComplete { _ in
                    self.machine.withLockedValue { $0.closed(connection) }
                }
                promise.succeed(connection)
            }
        case .failure(let error):
            let failures = self.machine.withLockedValue { machine in
                let failures = machine.failuresAfterNextFailure
                machine.connectFailed(now: .now(), delay: self.backoff.delay(attempt: failures))
                return failures
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
        await self.machine.withLockedValue { $0.shutdown() }?.close()
    }
}
