import Common
import Foundation

/// A claimed outbox row.
struct OutboxRow: Sendable, Equatable {
    var id: Int64
    var idempotencyKey: UUID
    var topic: String
    var payload: OutboxPayload
    var createdAt: Date
    /// When the message stops being useful (a verification code's expiry); nil for never.
    var expiresAt: Date?
    /// Claims so far, this one included.
    var attempts: Int

    var streamEntry: MailStreamEntry {
        MailStreamEntry(
            messageID: String(self.id),
            idempotencyKey: self.idempotencyKey.uuidString.lowercased(),
            topic: self.topic,
            to: self.payload.to,
            subject: self.payload.subject,
            body: self.payload.body,
            createdAt: self.createdAt
        )
    }
}
