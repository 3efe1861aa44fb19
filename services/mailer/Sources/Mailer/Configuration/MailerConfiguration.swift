import Common
import Foundation
import Logging

/// Everything the mailer reads from the environment (see the README's configuration table).
public struct MailerConfiguration: Sendable {
    /// `HTTP_HOST` / `HTTP_PORT` (default 8083): health and metrics only.
    public var http: HTTPServerSettings
    /// `LOG_LEVEL`.
    public var logLevel: Logger.Level
    /// `DATABASE_URL`: the outbox.
    public var postgres: PostgresSettings
    /// `DATABASE_LISTEN_URL` (default: `DATABASE_URL`): the connection that `LISTEN`s for wake-ups.
    /// Behind a transaction pooler (PgBouncer) `LISTEN` does not work, so the pool may go through
    /// the pooler while this goes to Postgres directly.
    public var listenPostgres: PostgresSettings
    /// `REDIS_URL`: the mail stream.
    public var redis: RedisConfiguration
    /// `MAIL_STREAM` (`registrar:mail`): the stream the SMTP mock consumes.
    public var stream: String
    /// `MAIL_STREAM_MAX_BACKLOG` (10000): while the stream holds this many entries (not yet
    /// delivered or not yet acknowledged), the mailer publishes nothing more; rows wait in the
    /// outbox. Entries are never trimmed.
    public var streamMaxBacklog: Int
    /// `CODE_TTL_SECONDS` (60): a verification mail without its own expiry is not sent after this.
    public var codeTTL: Duration
    /// `MAILER_BATCH_SIZE` (200): rows claimed at once.
    public var batchSize: Int
    /// `MAILER_POLL_INTERVAL_MS` (1000): the fallback poll when no `NOTIFY` arrives.
    public var pollInterval: Duration
    /// `MAILER_LEASE_SECONDS` (30): how long a claimed row is ours before another mailer may take it.
    public var lease: Duration
    /// `MAILER_MAX_ATTEMPTS` (10): publish attempts before a row is `failed`.
    public var maxAttempts: Int
    /// `MAILER_BACKOFF_BASE_MS` (500) and `MAILER_BACKOFF_MAX_SECONDS` (300): retry delays.
    public var backoff: Backoff
    /// `MAILER_REPLICA_ACK_TIMEOUT_MS` (1000): how long a stream entry waits for a replica's
    /// acknowledgement (`WAIT`) when the primary has replicas; without one the row is retried.
    public var replicaAcknowledgementTimeout: Duration
    /// `MAILER_ID` (host-pid): this replica's name in `locked_by`.
    public var mailerID: String
    /// `MAIL_TRANSPORT` (`stream`): `stream` to the SMTP mock through Redis, or `smtp` to the
    /// relay of the `SMTP_*` settings.
    public var transport: Transport
    /// `MAIL_FROM` (`Registrar <no-reply@registrar.local>`): the From header and envelope sender;
    /// its domain ends every Message-ID.
    var mailFrom: MailAddress
    /// `MAIL_TEMPLATES_DIR`: templates that add to and replace the built-in ones.
    public var templatesDirectory: String?

    /// Where messages go.
    public enum Transport: Sendable {
        /// The Redis stream (`MAIL_STREAM`) the SMTP mock consumes.
        case stream
        /// An SMTP relay.
        case smtp(SMTPSettings)
    }

    /// Reads and validates every variable.
    public init(environment: EnvironmentReader) throws {
        self.http = try HTTPServerSettings(environment: environment, defaultPort: 8083)
        self.logLevel = try environment.logLevel()
        self.postgres = try PostgresSettings(environment: environment)
        if let listen = environment.raw("DATABASE_LISTEN_URL") {
            self.listenPostgres = try PostgresSettings(url: listen, key: "DATABASE_LISTEN_URL", maximumConnections: 1)
        } else {
            self.listenPostgres = self.postgres
        }
        self.redis = try RedisConfiguration(environment: environment)
        self.stream = environment.string("MAIL_STREAM", default: MailStreamEntry.defaultStream)
        self.streamMaxBacklog = try environment.int("MAIL_STREAM_MAX_BACKLOG", default: 10000, in: 1...100_000_000)
        self.codeTTL = .seconds(try environment.int("CODE_TTL_SECONDS", default: 60, in: 1...86400))
        self.batchSize = try environment.int("MAILER_BATCH_SIZE", default: 200, in: 1...10000)
        self.pollInterval = .milliseconds(try environment.int("MAILER_POLL_INTERVAL_MS", default: 1000, in: 10...600_000))
        self.lease = .seconds(try environment.int("MAILER_LEASE_SECONDS", default: 30, in: 1...3600))
        self.maxAttempts = try environment.int("MAILER_MAX_ATTEMPTS", default: 10, in: 1...1000)
        self.backoff = Backoff(
            base: .milliseconds(try environment.int("MAILER_BACKOFF_BASE_MS", default: 500, in: 1...600_000)),
            cap: .seconds(try environment.int("MAILER_BACKOFF_MAX_SECONDS", default: 300, in: 1...86400))
        )
        self.replicaAcknowledgementTimeout = .milliseconds(
            try environment.int("MAILER_REPLICA_ACK_TIMEOUT_MS", default: 1000, in: 1...60_000)
        )
        self.mailerID = environment.string("MAILER_ID", default: "\(ProcessInfo.processInfo.hostName)-\(getpid())")
        switch environment.string("MAIL_TRANSPORT", default: "stream").lowercased() {
        case "stream": self.transport = .stream
        case "smtp": self.transport = .smtp(try SMTPSettings(environment: environment))
        case let other: throw ConfigurationError(key: "MAIL_TRANSPORT", expected: "stream or smtp", found: other)
        }
        let from = environment.string("MAIL_FROM", default: "Registrar <no-reply@registrar.local>")
        guard let mailFrom = MailAddress(from) else {
            throw ConfigurationError(key: "MAIL_FROM", expected: "an address like Registrar <no-reply@example.com>", found: from)
        }
        self.mailFrom = mailFrom
        self.templatesDirectory = environment.raw("MAIL_TEMPLATES_DIR")
    }
}
