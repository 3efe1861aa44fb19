import Common
import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle

/// Drains the outbox through the mail transport: the Redis stream, or an SMTP relay.
///
/// Wakes on Postgres `NOTIFY outbox` (users-api notifies on insert) with a periodic poll as the
/// fallback, and never sleeps between full batches. Each batch: claim due rows (lease), mark
/// expired ones, build each message (``MailComposer``), hand them all to the transport at once,
/// mark `dispatched` only what it acknowledged, send deferred ones back with backoff (or to
/// `failed` after the attempt limit), and fail refused ones (a 5xx reply) at once with the reply.
/// On graceful shutdown the batch in flight is finished before the loop stops.
///
/// Backpressure: the transport says how many rows may be claimed (the stream, never trimmed,
/// allows none while it holds `MAIL_STREAM_MAX_BACKLOG` entries); the others wait in Postgres,
/// the durable buffer.
struct OutboxDispatcher: Service {
    let configuration: MailerConfiguration
    let postgres: PostgresClient
    /// Where `LISTEN outbox` runs: the pool itself, or a direct connection (`DATABASE_LISTEN_URL`).
    let listener: PostgresClient
    let redis: RedisClient
    let transport: any MailTransport
    let composer: MailComposer
    let repository: OutboxRepository
    let metrics: MailerMetrics
    let logger: Logger

    init(
        configuration: MailerConfiguration,
        postgres: PostgresClient,
        listener: PostgresClient,
        redis: RedisClient,
        transport: any MailTransport,
        composer: MailComposer,
        metrics: MailerMetrics,
        logger: Logger
    ) {
        self.configuration = configuration
        self.postgres = postgres
        self.listener = listener
        self.redis = redis
        self.transport = transport
        self.composer = composer
        self.repository = OutboxRepository(client: postgres, logger: logger, mailerID: configuration.mailerID)
        self.metrics = metrics
        self.logger = logger
    }

    func run() async throws {
        let (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        await withDiscardingTaskGroup { group in
            group.addTask { await self.listen(wake) }
            group.addTask { await self.poll(wake) }
            group.addTask { await self.sampleBacklog() }
            group.addTask { await self.transport.run() }
            await withGracefulShutdownHandler {
                await self.dispatchLoop(wakeups)
            } onGracefulShutdown: {
                wake.finish()
            }
            self.transport.stop()
            group.cancelAll()
        }
        self.logger.info("dispatcher stopped")
    }

    /// One batch after another while they are full; otherwise waits for a wake-up.
    func dispatchLoop(_ wakeups: AsyncStream<Void>) async {
        var failures = 0
        for await _ in wakeups {
            while !Task.isShuttingDownGracefully && !Task.isCancelled {
                do {
                    let full = try await self.dispatchBatch()
                    failures = 0
                    if !full { break }
                } catch {
                    failures += 1
                    self.logger.warning("outbox batch failed", metadata: ["error": "\(error)", "mailer.failures": "\(failures)"])
                    try? await Task.sleep(for: Backoff(base: .milliseconds(100), cap: .seconds(5)).delay(attempt: failures))
                    break
                }
            }
        }
    }

    /// Claims, sends and settles one batch; returns whether it was full (as many rows as the
    /// transport had room for: more may be due, so the next batch starts at once).
    func dispatchBatch() async throws -> Bool {
        let room = try await self.transport.room(limit: self.configuration.batchSize)
        guard room > 0 else {
            self.logger.debug("backpressure: the transport takes nothing now")
            return false
        }
        let rows = try await self.repository.claim(limit: room, lease: self.configuration.lease, codeTTL: self.configuration.codeTTL)
        guard !rows.isEmpty else { return false }
        let now = Date()
        let expired = rows.filter { ($0.expiresAt ?? .distantFuture) <= now }.map(\.id)
        try await self.repository.markExpired(expired)

        let live = rows.filter { ($0.expiresAt ?? .distantFuture) > now }
        // Nothing starts after half the lease: the rest of the lease covers what is in flight.
        let deadline = ContinuousClock.now + self.configuration.lease / 2
        // Each message is built in its own task (on every core), then handed to the transport.
        let outcomes = await withTaskGroup(of: (Int64, DeliveryOutcome).self) { group in
            for row in live {
                group.addTask {
                    do {
                        let mail = try self.composer.compose(row, now: now)
                        return (row.id, await self.transport.deliver(mail, startingBefore: deadline))
                    } catch {
                        return (row.id, .rejected(SMTPReply(554, "the message could not be built: \(error)")))
                    }
                }
            }
            var results: [(Int64, DeliveryOutcome)] = []
            for await result in group { results.append(result) }
            return results
        }
        try await self.settle(outcomes)
        self.logger.debug("batch", metadata: ["outbox.claimed": "\(rows.count)", "outbox.sent": "\(live.count)"])
        if !expired.isEmpty { self.metrics.recordBatch(dispatched: 0, retried: 0, failed: 0, expired: expired.count) }
        return rows.count == room
    }

    /// Marks what was delivered, defers (with backoff) what may succeed later, fails what was refused.
    func settle(_ outcomes: [(Int64, DeliveryOutcome)]) async throws {
        var delivered: [Int64] = []
        var deferred: [String: [Int64]] = [:]
        var rejected: [String: [Int64]] = [:]
        for (id, outcome) in outcomes {
            switch outcome {
            case .delivered: delivered.append(id)
            case .deferred(let reason): deferred[reason, default: []].append(id)
            case .rejected(let reply): rejected[reply.description, default: []].append(id)
            }
        }
        try await self.repository.markDispatched(delivered)
        var failed = 0
        var retried = 0
        for (reason, ids) in deferred {
            let dead = try await self.repository.fail(
                ids,
                error: reason,
                maxAttempts: self.configuration.maxAttempts,
                backoff: self.configuration.backoff
            )
            failed += dead
            retried += ids.count - dead
            self.logger.warning("sending deferred", metadata: ["outbox.rows": "\(ids.count)", "outbox.dead": "\(dead)", "error": "\(reason)"])
        }
        for (reply, ids) in rejected {
            failed += try await self.repository.fail(ids, error: reply, permanently: true, backoff: self.configuration.backoff)
            self.logger.warning("sending refused", metadata: ["outbox.rows": "\(ids.count)", "error": "\(reply)"])
        }
        self.metrics.recordBatch(dispatched: delivered.count, retried: retried, failed: failed, expired: 0)
    }

    /// `LISTEN outbox` on a connection of ``listener``; reconnects with backoff while Postgres is away.
    func listen(_ wake: AsyncStream<Void>.Continuation) async {
        var attempt = 0
        while !Task.isCancelled {
            do {
                try await self.listener.withConnection { connection in
                    try await connection.listen(on: OutboxNotification.channel) { notifications in
                        attempt = 0
                        wake.yield()  // catch up on anything inserted before LISTEN began
                        for try await _ in notifications { wake.yield() }
                    }
                }
            } catch {
                if Task.isCancelled { return }
                attempt += 1
                self.logger.warning("LISTEN outbox failed", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: Backoff(base: .milliseconds(200), cap: .seconds(5)).delay(attempt: max(attempt, 1)))
        }
    }

    /// The fallback: a wake-up every poll interval.
    func poll(_ wake: AsyncStream<Void>.Continuation) async {
        wake.yield()
        while !Task.isCancelled {
            try? await Task.sleep(for: self.configuration.pollInterval)
            wake.yield()
        }
    }

    /// Updates the backlog and stream gauges every two seconds.
    func sampleBacklog() async {
        while !Task.isCancelled {
            if let (depth, age) = try? await self.repository.backlog() {
                self.metrics.recordBacklog(depth: depth, oldestAgeSeconds: age)
            }
            if let length = try? await self.redis.xlen(self.configuration.stream),
                let groups = try? await self.redis.xinfoGroups(self.configuration.stream),
                let dead = try? await self.redis.xlen(self.configuration.stream + ":dead")
            {
                self.metrics.recordStream(
                    length: length,
                    lag: groups.reduce(0) { $0 + ($1.lag ?? 0) },
                    pending: groups.reduce(0) { $0 + $1.pending },
                    deadLetters: dead
                )
            }
            try? await Task.sleep(for: .seconds(2))
        }
    }
}
