import Common
import Foundation
import Logging
import PostgresNIO

/// Inserts outbox rows inside the caller's transaction and wakes the mailer with `NOTIFY`
/// (delivered when the transaction commits, never before).
struct OutboxWriter: Sendable {
    /// The `LISTEN`/`NOTIFY` channel the mailer listens on.
    static let channel = "outbox"

    let logger: Logger

    func enqueue(topic: String, payload: OutboxPayload, expiresAt: Date?, on connection: PostgresConnection) async throws {
        let json = String(decoding: try JSONEncoder().encode(payload), as: UTF8.self)
        try await connection.query(
            "INSERT INTO outbox (topic, payload, expires_at) VALUES (\(topic), \(json)::jsonb, \(expiresAt))",
            logger: self.logger
        )
        try await connection.query("SELECT pg_notify(\(Self.channel), '')", logger: self.logger)
    }
}
