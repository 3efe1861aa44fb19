import Common
import Logging
import NIOCore

/// Everything users-api reads from the environment (see the README's configuration table).
public struct UsersAPIConfiguration: Sendable {
    /// `HTTP_HOST` / `HTTP_PORT` (default 8081).
    public var http: HTTPServerSettings
    /// `LOG_LEVEL`.
    public var logLevel: Logger.Level
    /// `DATABASE_URL`.
    public var postgres: PostgresSettings
    /// `REDIS_URL`.
    public var redis: RedisConfiguration
    /// `CODE_TTL_SECONDS` (60): how long an activation code is valid.
    public var codeTTL: Duration
    /// `CODE_LENGTH` (4): digits in an activation or email-change code (both also need the
    /// account's password or session).
    public var codeLength: Int
    /// `RESET_CODE_LENGTH` (8): digits in a password-reset code, which alone (with the address)
    /// sets a new password: at the failure budget's 100 wrong codes a day, 8 digits leave a
    /// guesser one chance in a million a day; 4 would leave one in a hundred.
    public var resetCodeLength: Int
    /// `CODE_ATTEMPTS` (5): wrong tries that burn a code.
    public var codeAttempts: Int
    /// `RESEND_THROTTLE_SECONDS` (60): minimum time between two codes for one address.
    public var resendThrottle: Duration
    /// `ACTIVATION_MAX_FAILURES` (100): wrong codes an account may send per failure window.
    public var activationMaxFailures: Int
    /// `ACTIVATION_FAILURE_WINDOW_SECONDS` (86400): the window of that budget.
    public var activationFailureWindow: Duration
    /// `PASSWORD_MIN_LENGTH` (8).
    public var passwordMinLength: Int
    /// `BCRYPT_COST` (12).
    public var bcryptCost: Int
    /// `INTERNAL_API_TOKEN`: shared secret guarding `/internal/*` (required, at least 16 characters).
    public var internalAPIToken: String
    /// `BCRYPT_THREADS` (the number of cores): threads that run bcrypt.
    public var bcryptThreads: Int
    /// `BCRYPT_MAX_WAIT_MS` (1000): the longest a request waits for a bcrypt thread before 503.
    public var bcryptMaxWait: Duration
    /// `LOGIN_MAX_FAILURES` (10): wrong passwords per account and client address per window.
    public var loginMaxFailures: Int
    /// `CLIENT_MAX_FAILURES` (50): wrong passwords per client address, across accounts, per window.
    public var clientMaxFailures: Int
    /// `LOGIN_FAILURE_WINDOW_SECONDS` (900): the window of those two budgets.
    public var loginFailureWindow: Duration
    /// `ACCOUNT_MAX_FAILURES` (100): wrong passwords per account from clients it does not know.
    public var accountMaxFailures: Int
    /// `ACCOUNT_FAILURE_WINDOW_SECONDS` (86400): that window.
    public var accountFailureWindow: Duration
    /// `REGISTRATION_MAX_PER_ADDRESS` (10): registrations per client address per window.
    public var registrationMaxPerAddress: Int
    /// `REGISTRATION_WINDOW_SECONDS` (3600): that window.
    public var registrationWindow: Duration
    /// `MAIL_MAX_PER_RECIPIENT_PER_DAY` (10): mails of any kind to one address per 24 h.
    public var mailMaxPerRecipientPerDay: Int
    /// `MAIL_MAX_PER_MINUTE` (600): mails to anyone per minute.
    public var mailMaxPerMinute: Int
    /// `OUTBOX_RETENTION_HOURS` (168): finished outbox rows are deleted after this.
    public var outboxRetention: Duration
    /// `PENDING_USER_RETENTION_HOURS` (168): accounts never activated are deleted after this long
    /// without activity (registration, resend).
    public var pendingUserRetention: Duration
    /// `RETENTION_INTERVAL_SECONDS` (600): how often the retention job runs.
    public var retentionInterval: Duration
    /// `TRUSTED_PROXIES` (`127.0.0.1/32,::1/128`): peers whose `X-Real-IP` is believed.
    public var trustedProxies: TrustedProxies
    /// `SWAGGER_UI_DIR` (unset): the folder holding Swagger UI's files for `/docs`
    /// (scripts/fetch-swagger-ui.sh fills it; without them `/docs` says how to get them).
    public var swaggerUIDirectory: String?

    /// Reads and validates every variable.
    public init(environment: EnvironmentReader) throws {
        self.http = try HTTPServerSettings(environment: environment, defaultPort: 8081)
        self.logLevel = try environment.logLevel()
        self.postgres = try PostgresSettings(environment: environment)
        self.redis = try RedisConfiguration(environment: environment)
        self.codeTTL = .seconds(try environment.int("CODE_TTL_SECONDS", default: 60, in: 1...86400))
        self.codeLength = try environment.int("CODE_LENGTH", default: 4, in: 4...9)
        self.resetCodeLength = try environment.int("RESET_CODE_LENGTH", default: 8, in: 6...9)
        self.codeAttempts = try environment.int("CODE_ATTEMPTS", default: 5, in: 1...100)
        self.resendThrottle = .seconds(try environment.int("RESEND_THROTTLE_SECONDS", default: 60, in: 0...86400))
        self.activationMaxFailures = try environment.int("ACTIVATION_MAX_FAILURES", default: 100, in: 1...100_000)
        self.activationFailureWindow = .seconds(try environment.int("ACTIVATION_FAILURE_WINDOW_SECONDS", default: 86400, in: 60...2_592_000))
        self.passwordMinLength = try environment.int("PASSWORD_MIN_LENGTH", default: 8, in: 1...72)
        self.bcryptCost = try environment.int("BCRYPT_COST", default: 12, in: 4...31)
        self.internalAPIToken = try environment.secret("INTERNAL_API_TOKEN", minimumLength: 16)
        self.bcryptThreads = try environment.int("BCRYPT_THREADS", default: System.coreCount, in: 1...256)
        self.bcryptMaxWait = .milliseconds(try environment.int("BCRYPT_MAX_WAIT_MS", default: 1000, in: 10...60000))
        self.loginMaxFailures = try environment.int("LOGIN_MAX_FAILURES", default: 10, in: 1...1_000_000)
        self.clientMaxFailures = try environment.int("CLIENT_MAX_FAILURES", default: 50, in: 1...1_000_000)
        self.loginFailureWindow = .seconds(try environment.int("LOGIN_FAILURE_WINDOW_SECONDS", default: 900, in: 1...86400))
        self.accountMaxFailures = try environment.int("ACCOUNT_MAX_FAILURES", default: 100, in: 1...1_000_000)
        self.accountFailureWindow = .seconds(try environment.int("ACCOUNT_FAILURE_WINDOW_SECONDS", default: 86400, in: 1...2_592_000))
        self.registrationMaxPerAddress = try environment.int("REGISTRATION_MAX_PER_ADDRESS", default: 10, in: 1...100_000_000)
        self.registrationWindow = .seconds(try environment.int("REGISTRATION_WINDOW_SECONDS", default: 3600, in: 1...2_592_000))
        self.mailMaxPerRecipientPerDay = try environment.int("MAIL_MAX_PER_RECIPIENT_PER_DAY", default: 10, in: 1...100_000_000)
        self.mailMaxPerMinute = try environment.int("MAIL_MAX_PER_MINUTE", default: 600, in: 1...100_000_000)
        self.outboxRetention = .seconds(3600 * (try environment.int("OUTBOX_RETENTION_HOURS", default: 168, in: 0...87600)))
        self.pendingUserRetention = .seconds(3600 * (try environment.int("PENDING_USER_RETENTION_HOURS", default: 168, in: 1...87600)))
        self.retentionInterval = .seconds(try environment.int("RETENTION_INTERVAL_SECONDS", default: 600, in: 1...86400))
        self.trustedProxies = try TrustedProxies(environment: environment)
        self.swaggerUIDirectory = environment.raw("SWAGGER_UI_DIR")
    }
}
