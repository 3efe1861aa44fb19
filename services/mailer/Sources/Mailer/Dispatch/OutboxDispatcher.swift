import Common
import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle

/// Drains the outbox into the Redis stream.
///
/// Wakes on Postgres `NOTIFY outbox` (users-api notifies on insert) with a periodic poll as the
/// fallback, and never sleeps between full batches. Each batch: claim due rows (lease), mark
/// expired ones, publish the rest with pipelined `XADD`, mark `dispatched` only what Redis
/// acknowledged, and send failures back with backoff (or to `failed` after the attempt limit).
/// On graceful shutdown the batch in flight is finished before the loop stops.
///
/// Backpressure: the stream is never trimmed; while it holds `MAIL_STREAM_MAX_BACKLOG` entries
/// (the consumers are down or slow) no rows are claimed, and they wait in Postgres, the durable
/// buffer, until the consumers catch up.
struct OutboxDispatcher: Service {
    let configuration: MailerConfiguration
    let postgres: PostgresClient
    /// Where `LISTEN outbox` runs: the pool itself, or a direct connection (`DATABASE_LISTEN_URL`).
    let listener: PostgresClient
    let redis: RedisClient
    let repository: OutboxRepository
    let metrics: MailerMetrics
    let logger: Logger

    init(configuration: MailerConfiguration, postgres: PostgresClient, listener: PostgresClient, redis: RedisClient, logger: Logger) {
        self.configuration = configuration
        self.postgres = postgres
        self.listener = listener
        self.redis = redis
        self.repository = OutboxRepository(client: postgres, logger: logger, mailerID: configuration.mailerID)
        self.metrics = MailerMetrics()
        self.logger = logger
    }

    func run() async throws {
        let (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        await withDiscardingTaskGroup { group in
            group.addTask { await self.listen(wake) }
            group.addTask { await self.poll(wake) }
            group.addTask { await self.sampleBacklog() }
            await withGracefulShutdownHandler {
                await self.dispatchLoop(wakeups)
            } onGracefulShutdown: {
                wake.finish()
            }
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
                    let claimed = try await self.dispatchBatch()
                    failures = 0
                    if claimed < self.configuration.batchSize { break }
                } catch {
                    failures += 1
                    self.logger.warning("outbox batch failed", metadata: ["error": "\(error)", "mailer.failures": "\(failures)"])
                    try? await Task.sleep(for: Backoff(base: .milliseconds(100), cap: .seconds(5)).delay(attempt: failures))
                    break
                }
            }
        }
    }

    /// Claims, publishes and settles one batch; returns how many rows it claimed.
    func dispatchBatch() async throws -> Int {
        let room = self.configuration.streamMaxBacklog - (try await self.redis.xlen(self.configuration.stream))
        self.metrics.recordBackpressure(room <= 0)
        guard room > 0 else {
            self.logger.debug("backpressure: the mail stream is full", metadata: ["stream.room": "\(room)"])
            return 0
        }
        let rows = try await self.repository.claim(
            limit: min(self.configuration.batchSize, room),
            lease: self.configuration.lease,
            codeTTL: self.configuration.codeTTL
        )
        guard !rows.isEmpty else { return 0 }
        let now = Date()
        let expired = rows.filter { ($0.expiresAt ?? .distantFuture) <= now }.map(\.id)
        let live = rows.filter { ($0.expiresAt ?? .distantFuture) > now }
        try await self.repository.markExpired(expired)

        let results = await withTaskGroup(of: (Int64, (any Error)?).self) { group in
            for row in live {
                group.addTask {
                    do {
                        _ = try await self.redis.xadd(self.configuration.stream, fields: row.streamEntry.fields)
                        return (row.id, nil)
                    } catch {
                        return (row.id, error)
                    }
                }
            }
            var results: [(Int64, (any Error)?)] = []
            for await result in group { results.append(result) }
            return results
        }
        let published = results.filter { $0.1 == nil }.map(\.0)
        let unpublished = results.filter { $0.1 != nil }
        try await self.repository.markDispatched(published)
        var failed = 0
        if let firstError = unpublished.first?.1 {
            failed = try await self.repository.fail(
                unpublished.map(\.0),
                error: String(describing: firstError),
                maxAttempts: self.configuration.maxAttempts,
                backoff: self.configuration.backoff
            )
            self.logger.warning(
                "publishing failed",
                metadata: ["outbox.rows": "\(unpublished.count)", "outbox.dead": "\(failed)", "error": "\(firstError)"]
            )
        }
        self.metrics.recordBatch(dispatched: published.count, retried: unpublished.count - failed, failed: failed, expired: expired.count)
        self.logger.debug("batch", metadata: ["outbox.claimed": "\(rows.count)", "outbox.published": "\(published.count)"])
        return rows.count
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
