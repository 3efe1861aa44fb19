import Common
import Logging
import ServiceLifecycle

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Consumes the mail stream in a consumer group, so replicas share the work.
///
/// New entries come from `XREADGROUP … BLOCK` on a dedicated connection; each is stored in the
/// inbox (deduplicated by idempotency key) and only then acknowledged (`XACK`, then `XDEL` to keep
/// the stream short). Entries another consumer left unacknowledged for `claimIdle` are taken over
/// with `XAUTOCLAIM`; an entry delivered more than `maxDeliveries` times, or one that cannot be
/// decoded, moves to the dead-letter stream `<stream>:dead`.
struct StreamConsumer: Service {
    let configuration: SMTPMockConfiguration
    let redis: RedisClient
    let postman: Postman
    let metrics: SMTPMockMetrics
    let logger: Logger

    var deadLetterStream: String { self.configuration.stream + ":dead" }

    func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.reclaimLoop() }
            await self.readLoop()
            group.cancelAll()
        }
        self.logger.info("consumer stopped")
    }

    /// Reads new entries until graceful shutdown; reconnects with backoff when Redis goes away.
    func readLoop() async {
        var failures = 0
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                try await self.redis.xgroupCreate(self.configuration.stream, group: self.configuration.group)
                let connection = try await self.redis.dedicatedConnection()
                failures = 0
                do {
                    while !Task.isShuttingDownGracefully && !Task.isCancelled {
                        let entries = try await connection.xreadgroup(
                            group: self.configuration.group,
                            consumer: self.configuration.consumer,
                            stream: self.configuration.stream,
                            count: self.configuration.batchSize,
                            block: .seconds(1)
                        )
                        try await self.handle(entries.map { ($0, 1) })
                    }
                } catch {
                    await connection.close()
                    throw error
                }
                await connection.close()
            } catch {
                failures += 1
                self.logger.warning("stream read failed", metadata: ["error": "\(error)", "smtp.failures": "\(failures)"])
                try? await Task.sleep(for: Backoff(base: .milliseconds(100), cap: .seconds(2)).delay(attempt: failures))
            }
        }
    }

    /// Every half idle period, takes over entries left pending by dead or failing consumers.
    func reclaimLoop() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: self.configuration.claimIdle / 2)
            do {
                try await self.reclaimOnce()
            } catch {
                self.logger.warning("reclaim failed", metadata: ["error": "\(error)"])
            }
        }
    }

    /// One full `XAUTOCLAIM` scan of the pending entries list.
    func reclaimOnce() async throws {
        var start = "0-0"
        repeat {
            let claim = try await self.redis.xautoclaim(
                self.configuration.stream,
                group: self.configuration.group,
                consumer: self.configuration.consumer,
                minIdle: self.configuration.claimIdle,
                start: start,
                count: self.configuration.batchSize
            )
            if let first = claim.entries.first?.id, let last = claim.entries.last?.id {
                // Delivery counts of exactly the claimed range (XAUTOCLAIM returns it in id order).
                let pending = try await self.redis.xpending(
                    self.configuration.stream,
                    group: self.configuration.group,
                    from: first,
                    to: last,
                    count: claim.entries.count * 4,  // room for our own younger entries in the range
                    consumer: self.configuration.consumer
                )
                let deliveries = Dictionary(pending.map { ($0.id, $0.deliveries) }, uniquingKeysWith: max)
                // An entry missing from the answer (acknowledged meanwhile) is handled as a first delivery.
                try await self.handle(claim.entries.map { ($0, deliveries[$0.id] ?? 1) })
            }
            start = claim.nextStart
        } while start != "0-0"
    }

    /// Delivers a batch concurrently, then acknowledges and deletes what was handled.
    func handle(_ entries: [(RedisStreamEntry, Int)]) async throws {
        guard !entries.isEmpty else { return }
        let handled = try await withThrowingTaskGroup(of: String?.self) { group in
            for (entry, deliveries) in entries {
                group.addTask { try await self.handle(entry, deliveries: deliveries) ? entry.id : nil }
            }
            var ids: [String] = []
            for try await id in group { if let id { ids.append(id) } }
            return ids
        }
        guard !handled.isEmpty else { return }
        try await self.redis.xack(self.configuration.stream, group: self.configuration.group, ids: handled)
        try await self.redis.xdel(self.configuration.stream, ids: handled)
    }

    /// Whether `entry` is done with (delivered or dead-lettered) and may be acknowledged.
    func handle(_ entry: RedisStreamEntry, deliveries: Int) async throws -> Bool {
        guard let mail = MailStreamEntry(entry) else {
            try await self.deadLetter(entry, reason: "malformed entry")
            return true
        }
        if deliveries > self.configuration.maxDeliveries {
            try await self.deadLetter(entry, reason: "delivered \(deliveries) times")
            return true
        }
        if self.configuration.failureRate > 0, Double.random(in: 0..<1) < self.configuration.failureRate {
            self.metrics.recordInjectedFailure()
            self.logger.info("injected delivery failure", metadata: ["mail.id": .string(mail.idempotencyKey), "mail.deliveries": "\(deliveries)"])
            return false
        }
        let message =
            mail.raw.map { InboxMessage(raw: Array($0.utf8), recipients: [mail.to], fallbackID: mail.idempotencyKey, receivedAt: Date()) }
            ?? InboxMessage(id: mail.idempotencyKey, to: mail.to, subject: mail.subject, body: mail.body, receivedAt: Date())
        try await self.postman.deliver(message)
        return true
    }

    func deadLetter(_ entry: RedisStreamEntry, reason: String) async throws {
        let fields: [(String, any RedisArgumentConvertible)] =
            entry.fields.map { ($0.0, $0.1) } + [("dead_reason", reason), ("original_id", entry.id)]
        try await self.redis.xadd(self.deadLetterStream, fields: fields)
        self.metrics.recordDeadLetter()
        self.logger.warning("entry dead-lettered", metadata: ["stream.id": .string(entry.id), "reason": .string(reason)])
    }
}
