import Common
import Foundation
import Logging
import PostgresNIO

/// Inserts outbox rows inside the caller's transaction and wakes the mailer with `NOTIFY`
/// (delivered when the transaction commits, never before).
struct OutboxWriter: Sendable {
    let logger: Logger

    /// Inserts a row with `key` as its idempotency key (chosen by the caller, so a lost `COMMIT`
    /// answer can be resolved by looking for it), for a reader who prefers `language`.
    func enqueue(
        key: UUID,
        topic: String,
        payload: OutboxPayload,
        expiresAt: Date?,
        language: LanguagePreference,
        on connection: PostgresConnection
    ) async throws {
        let json = String(decoding: try JSONEncoder().encode(payload), as: UTF8.self)
        try await connection.query(
            """
            INSERT INTO outbox (idempotency_key, topic, payload, expires_at, language)
            VALUES (\(key), \(topic), \(json)::jsonb, \(expiresAt), \(language.stored))
            """,
            logger: self.logger
        )
        try await connection.query("SELECT pg_notify(\(OutboxNotification.channel), '')", logger: self.logger)
    }
}
