import Common
import NIOConcurrencyHelpers

/// The `stream` transport (the default, as the design card draws it): each message is an entry
/// on the Redis stream the SMTP mock consumes. The stream is never trimmed; while it holds
/// `MAIL_STREAM_MAX_BACKLOG` entries nothing is claimed and rows wait in the outbox.
///
/// When the primary has replicas (`ROLE`, asked once a batch), an entry counts as delivered only
/// once a replica acknowledged it (`WAIT 1`, within `MAILER_REPLICA_ACK_TIMEOUT_MS`): a failover
/// then cannot drop mail the outbox marked `dispatched`. Without that acknowledgement the row is
/// retried; the SMTP mock stores a Message-ID once, so a second entry is not a second mail.
struct StreamTransport: MailTransport {
    let redis: RedisClient
    let stream: String
    let maxBacklog: Int
    let replicaAcknowledgementTimeout: Duration
    let metrics: MailerMetrics
    /// Replicas of the primary at the last `ROLE`.
    private let replicas = NIOLockedValueBox(0)

    init(redis: RedisClient, stream: String, maxBacklog: Int, replicaAcknowledgementTimeout: Duration, metrics: MailerMetrics) {
        self.redis = redis
        self.stream = stream
        self.maxBacklog = maxBacklog
        self.replicaAcknowledgementTimeout = replicaAcknowledgementTimeout
        self.metrics = metrics
    }

    func room(limit: Int) async throws -> Int {
        async let role = self.redis.role()
        let room = self.maxBacklog - (try await self.redis.xlen(self.stream))
        let replicas: Int
        do {
            replicas = try await role.replicas
        } catch is RedisServerError {
            replicas = 0  // ROLE refused (an ACL without @admin): no replica to wait for is known
        }
        self.replicas.withLockedValue { $0 = replicas }
        self.metrics.recordBackpressure(room <= 0)
        return max(0, min(limit, room))
    }

    func deliver(_ mail: OutgoingMail, startingBefore deadline: ContinuousClock.Instant) async -> DeliveryOutcome {
        let replicas = self.replicas.withLockedValue { $0 }
        do {
            guard replicas > 0 else {
                _ = try await self.redis.xadd(self.stream, fields: mail.streamEntry.fields)
                return .delivered
            }
            return try await self.redis.withConnection { connection in
                _ = try await connection.xadd(self.stream, fields: mail.streamEntry.fields)
                let acknowledged = try await connection.wait(replicas: 1, timeout: self.replicaAcknowledgementTimeout)
                guard acknowledged >= 1 else {
                    return .deferred("no replica acknowledged the stream entry within \(self.replicaAcknowledgementTimeout)")
                }
                return .delivered
            }
        } catch {
            return .deferred(String(describing: error))
        }
    }

    func run() async {}
    func stop() {}
}
