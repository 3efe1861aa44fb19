import Common

/// How one message fared.
enum DeliveryOutcome: Sendable, Equatable {
    /// Handed over for good: the relay said 250 to the end of DATA, or Redis acknowledged the
    /// stream entry.
    case delivered
    /// Not handed over, or unknown (a 4xx reply, a lost connection): sent again after the outbox's
    /// backoff with the same Message-ID, by which a receiver recognises it.
    case deferred(String)
    /// Refused for good (a 5xx reply): the row fails with the reply in `last_error`.
    case rejected(SMTPReply)
}

/// Where the dispatcher hands messages: the Redis stream to the SMTP mock, or an SMTP relay
/// (`MAIL_TRANSPORT`).
protocol MailTransport: Sendable {
    /// How many rows may be claimed now, at most `limit` (the stream's backpressure).
    func room(limit: Int) async throws -> Int
    /// Delivers one message, starting no later than `deadline` (past it, the message is deferred
    /// unsent: its row's lease may be ending, and another mailer may claim it).
    func deliver(_ mail: OutgoingMail, startingBefore deadline: ContinuousClock.Instant) async -> DeliveryOutcome
    /// Background work (connections) until ``stop()``; returns at once when there is none.
    func run() async
    /// Lets ``run()`` finish once queued messages are sent.
    func stop()
}
