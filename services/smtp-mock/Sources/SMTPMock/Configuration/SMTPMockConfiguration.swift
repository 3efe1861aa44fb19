import Common
import Logging

/// Everything the SMTP mock reads from the environment (see the README's configuration table).
public struct SMTPMockConfiguration: Sendable {
    /// `HTTP_HOST` / `HTTP_PORT` (default 8025, the seed's).
    public var http: HTTPServerSettings
    /// `LOG_LEVEL`.
    public var logLevel: Logger.Level
    /// `REDIS_URL`: the mail stream and the inbox.
    public var redis: RedisConfiguration
    /// `SMTP_MOCK_FAILURE_RATE` (0): share of deliveries that fail before the ack (fault injection).
    public var failureRate: Double

    /// Reads and validates every variable.
    public init(environment: EnvironmentReader) throws {
        self.http = try HTTPServerSettings(environment: environment, defaultPort: 8025)
        self.logLevel = try environment.logLevel()
        self.redis = try RedisConfiguration(environment: environment)
        self.failureRate = try environment.double("SMTP_MOCK_FAILURE_RATE", default: 0, in: 0...1)
    }
}
