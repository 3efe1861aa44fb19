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
    /// The reader's language preferences (`fr-ca,fr,en`), from the registration's `Accept-Language`.
    var language: String? = nil

}
