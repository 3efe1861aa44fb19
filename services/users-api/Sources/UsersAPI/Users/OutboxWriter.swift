import Common
import Foundation
import Logging
import PostgresNIO

/// Inserts outbox rows inside the caller's transaction and wakes the mailer with `NOTIFY`
/// (delivered when the transaction commits, never before).
struct OutboxWriter: Sendable {
    let logger: Logger

    /// Inserts a row with `key` as its idempotency key (chosen by the caller, so a lost `COMMIT`
    /// answer can be resolved by looking for it), for a reader who prefers `language`. A
    /// `cancelled` row is written the same way but is never sent (see the `outbox_cancelled`
    /// migration).
    func enqueue(
        key: UUID,
        topic: String,
        payload: OutboxPayload,
        expiresAt: Date?,
        language: LanguagePreference,
        cancelled: Bool = false,
        on connection: PostgresConnection
    ) async throws {
        let json = String(decoding: try JSONEncoder().encode(payload), as: UTF8.self)
        let status = cancelled ? "cancelled" : "pending"
        try await connection.query(
            """
            INSERT INTO outbox (idempotency_key, topic, payload, expires_at, language, status)
            VALUES (\(key), \(topic), \(json)::jsonb, \(expiresAt), \(language.stored), \(status))
            """,
            logger: self.logger
        )
        try await connection.query("SELECT pg_notify(\(OutboxNotification.channel), '')", logger: self.logger)
    }
}
