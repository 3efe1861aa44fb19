import Common
import Logging

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Everything the SMTP mock reads from the environment (see the README's configuration table).
public struct SMTPMockConfiguration: Sendable {
    /// `HTTP_HOST` / `HTTP_PORT` (default 8025, the seed's).
    public var http: HTTPServerSettings
    /// `LOG_LEVEL`.
    public var logLevel: Logger.Level
    /// `REDIS_URL`: the mail stream and the inbox.
    public var redis: RedisConfiguration
    /// `MAIL_STREAM` (`registrar:mail`): the stream to consume; the inbox and the dead-letter
    /// stream (`<stream>:dead`) live under the same prefix.
    public var stream: String
    /// `SMTP_MOCK_GROUP` (`smtp-mock`): the consumer group replicas share.
    public var group: String
    /// `SMTP_MOCK_CONSUMER` (host-pid): this replica's consumer name.
    public var consumer: String
    /// `SMTP_MOCK_FAILURE_RATE` (0): share of deliveries that fail before the ack (fault injection).
    public var failureRate: Double
    /// `SMTP_MOCK_MAX_DELIVERIES` (5): deliveries of one entry before it goes to the dead-letter stream.
    public var maxDeliveries: Int
    /// `SMTP_MOCK_CLAIM_IDLE_MS` (5000): how long an entry may stay unacknowledged before another
    /// consumer reclaims it.
    public var claimIdle: Duration
    /// `SMTP_MOCK_BATCH_SIZE` (200): entries read at once.
    public var batchSize: Int
    /// `SMTP_MOCK_RETENTION_SECONDS` (86400): how long delivered mail stays in the inbox.
    public var retention: Duration
    /// The SMTP listener (`SMTP_MOCK_SMTP_*`).
    public var smtp: SMTPListenerSettings

    /// Reads and validates every variable.
    public init(environment: EnvironmentReader) throws {
        self.http = try HTTPServerSettings(environment: environment, defaultPort: 8025)
        self.logLevel = try environment.logLevel()
        self.redis = try RedisConfiguration(environment: environment)
        self.stream = environment.string("MAIL_STREAM", default: MailStreamEntry.defaultStream)
        self.group = environment.string("SMTP_MOCK_GROUP", default: "smtp-mock")
        self.consumer = environment.string(
            "SMTP_MOCK_CONSUMER",
            default: "\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)"
        )
        self.failureRate = try environment.double("SMTP_MOCK_FAILURE_RATE", default: 0, in: 0...1)
        self.maxDeliveries = try environment.int("SMTP_MOCK_MAX_DELIVERIES", default: 5, in: 1...1000)
        self.claimIdle = .milliseconds(try environment.int("SMTP_MOCK_CLAIM_IDLE_MS", default: 5000, in: 10...3_600_000))
        self.batchSize = try environment.int("SMTP_MOCK_BATCH_SIZE", default: 200, in: 1...10000)
        self.retention = .seconds(try environment.int("SMTP_MOCK_RETENTION_SECONDS", default: 86400, in: 60...31_536_000))
        self.smtp = try SMTPListenerSettings(environment: environment)
    }
}
