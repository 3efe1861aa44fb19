import Common
import Logging

/// Everything the mailer reads from the environment (see the README's configuration table).
public struct MailerConfiguration: Sendable {
    /// `HTTP_HOST` / `HTTP_PORT` (default 8083): health and metrics only.
    public var http: HTTPServerSettings
    /// `LOG_LEVEL`.
    public var logLevel: Logger.Level
    /// `DATABASE_URL`: the outbox.
    public var postgres: PostgresSettings
    /// `REDIS_URL`: the mail stream.
    public var redis: RedisConfiguration
    /// `CODE_TTL_SECONDS` (60): a verification mail older than this is not sent late.
    public var codeTTL: Duration

    /// Reads and validates every variable.
    public init(environment: EnvironmentReader) throws {
        self.http = try HTTPServerSettings(environment: environment, defaultPort: 8083)
        self.logLevel = try environment.logLevel()
        self.postgres = try PostgresSettings(environment: environment)
        self.redis = try RedisConfiguration(environment: environment)
        self.codeTTL = .seconds(try environment.int("CODE_TTL_SECONDS", default: 60, in: 1...86400))
    }
}
