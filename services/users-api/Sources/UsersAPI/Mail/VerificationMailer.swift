import Common
import Foundation
import PostgresNIO

/// Every mail users-api sends goes through here: the per-recipient and global mail limits, then
/// the code (or the "already registered" notice) into the outbox inside the caller's transaction.
struct VerificationMailer: Sendable {
    let outbox: OutboxWriter
    let codes: CodeStore
    let limits: FixedWindowLimits
    /// `MAIL_MAX_PER_RECIPIENT_PER_DAY`: mails of any kind to one address per 24 h.
    let maxPerRecipientPerDay: Int
    /// `MAIL_MAX_PER_MINUTE`: mails to anyone per minute.
    let maxPerMinute: Int

    /// Runs `body` (which sends one mail to `email`) inside a reservation of the recipient's daily
    /// budget and the global one, given back when `body` fails; refuses with 429
    /// `mail_limit_reached` (the recipient) or 503 `mail_capacity_reached` (everyone). Keyed by the
    /// address alone, so the answer is the same whatever account it has.
    func withReservation<Value: Sendable>(to email: String, _ body: () async throws -> Value) async throws -> Value {
        let counters = [
            FixedWindowLimits.Counter(
                key: "registrar:mail-limit:recipient:\(LimitKey.account(email))",
                limit: self.maxPerRecipientPerDay,
                window: .seconds(86400)
            ),
            FixedWindowLimits.Counter(key: "registrar:mail-limit:global", limit: self.maxPerMinute, window: .seconds(60)),
        ]
        return try await self.limits.withReservation(counters, refusal: Self.refusal, body)
    }

    private static func refusal(_ exceeded: FixedWindowLimits.Exceeded) -> ProblemDetails {
        if exceeded.index == 0 {
            return .tooManyRequests(
                code: "mail_limit_reached",
                title: "Too many emails to this address",
                detail: "This address has been sent as many emails as it may receive today; try again later.",
                retryAfter: exceeded.retryAfter
            )
        }
        var problem = ProblemDetails.unavailable(
            "The service is sending as many emails as it may right now; nothing was done. Retry shortly.",
            retryAfter: max(1, exceeded.retryAfter.wholeMilliseconds / 1000)
        )
        problem.code = "mail_capacity_reached"
        problem.title = "Mail capacity reached"
        return problem
    }

    /// Inside a transaction: `payload` under `topic`, expiring `expiresIn` from now when given
    /// (mail that carries a code), never sent when `cancelled`.
    func enqueue(
        _ payload: OutboxPayload,
        topic: String,
        key: UUID = UUID(),
        expiresIn: Duration? = nil,
        language: LanguagePreference,
        cancelled: Bool = false,
        on connection: PostgresConnection
    ) async throws {
        try await self.outbox.enqueue(
            key: key,
            topic: topic,
            payload: payload,
            expiresAt: expiresIn.map { Date().addingTimeInterval(Double($0.wholeMilliseconds) / 1000) },
            language: language,
            cancelled: cancelled,
            on: connection
        )
    }

    /// Inside a transaction: a code for a pending `user` (bound to `passwordHash`, nil for the
    /// account's own password; stored in Redis before the row commits, so no mail ever carries a
    /// code that cannot be verified), or the "already registered" notice for an active one; in
    /// the reader's `language` where the mailer has it.
    func send(to user: User, passwordHash: String? = nil, key: UUID, language: LanguagePreference, on connection: PostgresConnection) async throws {
        switch user.status {
        case .active:
            try await self.outbox.enqueue(
                key: key,
                topic: OutboxTopic.alreadyRegistered,
                payload: MailTemplates.alreadyRegistered(to: user.email),
                expiresAt: nil,
                language: language,
                on: connection
            )
        case .pending:
            let code = try await self.codes.issue(owner: CodeStore.owner(user.id), binding: passwordHash)
            try await self.outbox.enqueue(
                key: key,
                topic: OutboxTopic.verificationCode,
                payload: MailTemplates.verificationCode(to: user.email, code: code),
                expiresAt: Date().addingTimeInterval(Double(self.codes.codeTTL.wholeMilliseconds) / 1000),
                language: language,
                on: connection
            )
        }
    }
}
