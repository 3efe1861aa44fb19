import Common
import Foundation
import Logging
import PostgresNIO

/// The mailer's side of the `outbox` table (owned by users-api's migrations).
///
/// Claims use `FOR UPDATE SKIP LOCKED` and a lease: a claimed row is `processing` with
/// `next_attempt_at` at the end of its lease, so any number of mailers share the table, and a row
/// held by a crashed mailer is due again when its lease ends.
struct OutboxRepository: Sendable {
    let client: PostgresClient
    let logger: Logger
    let mailerID: String

    /// Claims up to `limit` due rows for `lease`; mails carrying a code without an expiry of their
    /// own expire `codeTTL` after creation.
    func claim(limit: Int, lease: Duration, codeTTL: Duration) async throws -> [OutboxRow] {
        let rows = try await self.client.query(
            """
            WITH due AS (
                SELECT id FROM outbox
                WHERE status IN ('pending', 'processing') AND next_attempt_at <= now()
                ORDER BY next_attempt_at
                LIMIT \(limit)
                FOR UPDATE SKIP LOCKED
            )
            UPDATE outbox o
            SET status = 'processing', locked_by = \(self.mailerID), attempts = o.attempts + 1,
                next_attempt_at = now() + \(lease.wholeMilliseconds)::bigint * interval '1 millisecond'
            FROM due WHERE o.id = due.id
            RETURNING o.id, o.idempotency_key, o.topic, o.payload::text, o.created_at,
                COALESCE(o.expires_at, CASE WHEN o.topic = ANY(\(OutboxTopic.carryingCodes))
                    THEN o.created_at + \(codeTTL.wholeMilliseconds)::bigint * interval '1 millisecond' END),
                o.attempts, o.language
            """,
            logger: self.logger
        )
        var claimed: [OutboxRow] = []
        let decoder = JSONDecoder()
        for try await (id, key, topic, payload, created, expires, attempts, language) in rows.decode(
            (Int64, UUID, String, String, Date, Date?, Int, String?).self
        ) {
            guard let decoded = try? decoder.decode(OutboxPayload.self, from: Data(payload.utf8)) else {
                try await self.fail([id], error: "payload is not {to, subject, body}", permanently: true, backoff: Backoff())
                continue
            }
            claimed.append(
                OutboxRow(
                    id: id,
                    idempotencyKey: key,
                    topic: topic,
                    payload: decoded,
                    createdAt: created,
                    expiresAt: expires,
                    attempts: attempts,
                    language: language
                )
            )
        }
        return claimed
    }

    /// Marks rows published (only those this mailer still holds).
    func markDispatched(_ ids: [Int64]) async throws {
        guard !ids.isEmpty else { return }
        try await self.client.query(
            """
            UPDATE outbox SET status = 'dispatched', dispatched_at = now(), locked_by = NULL, last_error = NULL
            WHERE id = ANY(\(ids)) AND status = 'processing' AND locked_by = \(self.mailerID)
            """,
            logger: self.logger
        )
    }

    /// Marks rows whose purpose has passed.
    func markExpired(_ ids: [Int64]) async throws {
        guard !ids.isEmpty else { return }
        try await self.client.query(
            "UPDATE outbox SET status = 'expired', locked_by = NULL WHERE id = ANY(\(ids)) AND locked_by = \(self.mailerID)",
            logger: self.logger
        )
    }

    /// Returns rows for a retry after an exponential, jittered delay, or marks them `failed` once
    /// they used `maxAttempts` (or at once when `permanently`). Returns how many became `failed`.
    @discardableResult
    func fail(_ ids: [Int64], error: String, permanently: Bool = false, maxAttempts: Int = 0, backoff: Backoff) async throws -> Int {
        guard !ids.isEmpty else { return 0 }
        let rows = try await self.client.query(
            """
            UPDATE outbox SET
                status = CASE WHEN \(permanently) OR attempts >= \(maxAttempts) THEN 'failed' ELSE 'pending' END,
                next_attempt_at = now() + LEAST(
                    \(backoff.cap.wholeMilliseconds)::float8,
                    \(backoff.base.wholeMilliseconds)::float8 * power(2, GREATEST(attempts - 1, 0))
                ) * (0.8 + random() * 0.4) * interval '1 millisecond',
                last_error = \(String(error.prefix(500))), locked_by = NULL
            WHERE id = ANY(\(ids)) AND locked_by = \(self.mailerID)
            RETURNING status
            """,
            logger: self.logger
        )
        var failed = 0
        for try await status in rows.decode(String.self) where status == "failed" { failed += 1 }
        return failed
    }

    /// Rows waiting (pending or processing) and the age of the oldest, for metrics.
    func backlog() async throws -> (depth: Int, oldestAge: Double) {
        let rows = try await self.client.query(
            """
            SELECT count(*)::int, COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)::float8
            FROM outbox WHERE status IN ('pending', 'processing')
            """,
            logger: self.logger
        )
        for try await (depth, age) in rows.decode((Int, Double).self) { return (depth, age) }
        return (0, 0)
    }
}
