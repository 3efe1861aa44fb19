import Common

/// The `stream` transport (the default, as the design card draws it): each message is an entry
/// on the Redis stream the SMTP mock consumes. The stream is never trimmed; while it holds
/// `MAIL_STREAM_MAX_BACKLOG` entries nothing is claimed and rows wait in the outbox.
struct StreamTransport: MailTransport {
    let redis: RedisClient
    let stream: String
    let maxBacklog: Int
    let metrics: MailerMetrics

    func room(limit: Int) async throws -> Int {
        let room = self.maxBacklog - (try await self.redis.xlen(self.stream))
        self.metrics.recordBackpressure(room <= 0)
        return max(0, min(limit, room))
    }

    func deliver(_ mail: OutgoingMail, startingBefore deadline: ContinuousClock.Instant) async -> DeliveryOutcome {
        do {
            _ = try await self.redis.xadd(self.stream, fields: mail.streamEntry.fields)
            return .delivered
        } catch {
            return .deferred(String(describing: error))
        }
    }

    func run() async {}
    func stop() {}
}
