import Common
import CommonPostgres
import Foundation
import Logging
import Metrics
import PostgresNIO
import ServiceLifecycle

/// Deletes what Registrar no longer needs, every `interval`, in batches safe with any number of
/// users-api replicas (`FOR UPDATE SKIP LOCKED`: two replicas never delete the same rows):
///
/// - outbox rows that are done (`dispatched`, `expired`, `failed`) and older than
///   `outboxRetention` (`OUTBOX_RETENTION_HOURS`): their payloads hold plaintext codes;
/// - pending accounts never activated, with no activity (registration, resend) for
///   `pendingUserRetention` (`PENDING_USER_RETENTION_HOURS`), with their codes in Redis: the
///   address can register again.
struct RetentionJob: Service {
    let postgres: PostgresClient
    let codes: CodeStore
    let interval: Duration
    let outboxRetention: Duration
    let pendingUserRetention: Duration
    let logger: Logger
    let batchSize = 1000

    private let outboxPurged = Counter(label: "users_api_retention_outbox_purged_total")
    private let usersPurged = Counter(label: "users_api_retention_pending_users_purged_total")
    private let failures = Counter(label: "users_api_retention_failures_total")

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                // Cancelled by shutdown: a pass waiting on an unreachable Postgres must not hold it.
                let (rows, users) = try await cancelWhenGracefulShutdown { try await self.purgeOnce() }
                if rows + users > 0 {
                    self.logger.info("retention", metadata: ["retention.outbox_rows": "\(rows)", "retention.pending_users": "\(users)"])
                }
            } catch {
                self.failures.increment()
                self.logger.warning("retention failed", metadata: ["error": "\(error)"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.interval) }
        }
    }

    /// One pass: every due batch of both kinds. Returns the outbox rows and accounts deleted.
    func purgeOnce() async throws -> (outboxRows: Int, pendingUsers: Int) {
        var rows = 0
        while true {
            let deleted = try await self.ids(
                self.postgres.query(
                    """
                    WITH doomed AS (
                        SELECT id FROM outbox
                        WHERE status IN ('dispatched', 'expired', 'failed', 'cancelled')
                            AND created_at < now() - \(self.outboxRetention.wholeMilliseconds)::bigint * interval '1 millisecond'
                        ORDER BY id LIMIT \(self.batchSize) FOR UPDATE SKIP LOCKED
                    )
                    DELETE FROM outbox o USING doomed WHERE o.id = doomed.id RETURNING o.id::text
                    """,
                    logger: self.logger
                )
            )
            rows += deleted.count
            self.outboxPurged.increment(by: deleted.count)
            if deleted.count < self.batchSize { break }
        }
        var users = 0
        while true {
            let deleted = try await self.ids(
                self.postgres.query(
                    """
                    WITH doomed AS (
                        SELECT id FROM users
                        WHERE status = 'pending'
                            AND updated_at < now() - \(self.pendingUserRetention.wholeMilliseconds)::bigint * interval '1 millisecond'
                        ORDER BY updated_at LIMIT \(self.batchSize) FOR UPDATE SKIP LOCKED
                    )
                    DELETE FROM users u USING doomed WHERE u.id = doomed.id RETURNING u.id::text
                    """,
                    logger: self.logger
                )
            )
            try await self.codes.forget(owners: deleted.compactMap(UUID.init(uuidString:)).map { CodeStore.owner($0) })
            users += deleted.count
            self.usersPurged.increment(by: deleted.count)
            if deleted.count < self.batchSize { break }
        }
        return (rows, users)
    }

    private func ids(_ rows: PostgresRowSequence) async throws -> [String] {
        var ids: [String] = []
        for try await id in rows.decode(String.self) { ids.append(id) }
        return ids
    }
}
