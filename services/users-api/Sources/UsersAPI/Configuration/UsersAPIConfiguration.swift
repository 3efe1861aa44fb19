import Common
import Logging

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
    /// `CODE_LENGTH` (4): digits in an activation code.
    public var codeLength: Int
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

    /// Reads and validates every variable.
    public init(environment: EnvironmentReader) throws {
        self.http = try HTTPServerSettings(environment: environment, defaultPort: 8081)
        self.logLevel = try environment.logLevel()
        self.postgres = try PostgresSettings(environment: environment)
        self.redis = try RedisConfiguration(environment: environment)
        self.codeTTL = .seconds(try environment.int("CODE_TTL_SECONDS", default: 60, in: 1...86400))
        self.codeLength = try environment.int("CODE_LENGTH", default: 4, in: 4...9)
        self.codeAttempts = try environment.int("CODE_ATTEMPTS", default: 5, in: 1...100)
        self.resendThrottle = .seconds(try environment.int("RESEND_THROTTLE_SECONDS", default: 60, in: 0...86400))
        self.activationMaxFailures = try environment.int("ACTIVATION_MAX_FAILURES", default: 100, in: 1...100_000)
        self.activationFailureWindow = .seconds(try environment.int("ACTIVATION_FAILURE_WINDOW_SECONDS", default: 86400, in: 60...2_592_000))
        self.passwordMinLength = try environment.int("PASSWORD_MIN_LENGTH", default: 8, in: 1...72)
        self.bcryptCost = try environment.int("BCRYPT_COST", default: 12, in: 4...31)
        self.internalAPIToken = try environment.secret("INTERNAL_API_TOKEN", minimumLength: 16)
    }
}
