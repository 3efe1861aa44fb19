import NIOCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One email on the Redis stream between the mailer (producer) and the SMTP mock (consumer).
///
/// `idempotencyKey` is the outbox row's (one per row, never per attempt), so a message published
/// twice — a retry after a lost acknowledgement, a mailer killed mid-batch — is stored once.
public struct MailStreamEntry: Sendable, Equatable {
    /// The stream every process uses unless `MAIL_STREAM` says otherwise.
    public static let defaultStream = "registrar:mail"

    /// The outbox row id, as text.
    public var messageID: String
    /// The outbox row's idempotency key.
    public var idempotencyKey: String
    /// The outbox topic (`user.verification_code` …).
    public var topic: String
    /// The recipient.
    public var to: String
    /// The subject.
    public var subject: String
    /// The plain-text body.
    public var body: String
    /// When the outbox row was created.
    public var createdAt: Date
    /// The whole message as the mailer built it (RFC 5322, MIME), as an SMTP relay would receive
    /// it; nil in entries published before messages were built (the consumer then uses the fields).
    public var raw: String?

    /// Creates an entry.
    public init(
        messageID: String,
        idempotencyKey: String,
        topic: String,
        to: String,
        subject: String,
        body: String,
        createdAt: Date,
        raw: String? = nil
    ) {
        self.messageID = messageID
        self.idempotencyKey = idempotencyKey
        self.topic = topic
        self.to = to
        self.subject = subject
        self.body = body
        self.createdAt = createdAt
        self.raw = raw
    }

    /// The stream fields, in a fixed order (`created_at` in epoch milliseconds).
    public var fields: [(String, any RedisArgumentConvertible)] {
        [
            ("message_id", self.messageID),
            ("idempotency_key", self.idempotencyKey),
            ("topic", self.topic),
            ("to", self.to),
            ("subject", self.subject),
            ("body", self.body),
            ("created_at", String(Int64((self.createdAt.timeIntervalSince1970 * 1000).rounded()))),
        ] + (self.raw.map { [("raw", $0 as any RedisArgumentConvertible)] } ?? [])
    }

    /// Decodes a stream entry; nil when a field is missing or malformed (a poison entry).
    public init?(_ entry: RedisStreamEntry) {
        func text(_ name: String) -> String? { entry[name].map { String(buffer: $0) } }
        guard let messageID = text("message_id"), let key = text("idempotency_key"), !key.isEmpty, let topic = text("topic"),
            let to = text("to"), !to.isEmpty, let subject = text("subject"), let body = text("body"),
            let created = text("created_at").flatMap(Int64.init)
        else { return nil }
        self.init(
            messageID: messageID,
            idempotencyKey: key,
            topic: topic,
            to: to,
            subject: subject,
            body: body,
            createdAt: Date(timeIntervalSince1970: Double(created) / 1000),
            raw: text("raw")
        )
    }
}
