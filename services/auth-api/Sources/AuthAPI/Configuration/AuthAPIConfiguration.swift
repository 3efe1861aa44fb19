import Common
import Logging

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Everything auth-api reads from the environment (see the README's configuration table).
public struct AuthAPIConfiguration: Sendable {
    /// `HTTP_HOST` / `HTTP_PORT` (default 8082).
    public var http: HTTPServerSettings
    /// `LOG_LEVEL`.
    public var logLevel: Logger.Level
    /// `REDIS_URL`: sessions live in Redis.
    public var redis: RedisConfiguration
    /// `SESSION_TTL_SECONDS` (86400).
    public var sessionTTL: Duration
    /// `SESSION_IDLE_TIMEOUT_SECONDS` (1800): a session unused this long ends (OWASP ASVS 5 7.3.1),
    /// whatever is left of its absolute lifetime `SESSION_TTL_SECONDS` (7.3.2).
    public var sessionIdleTimeout: Duration
    /// `SESSION_MAX_PER_USER` (50): live sessions per account; a login past it ends the oldest.
    public var sessionMaxPerUser: Int
    /// `USERS_API_URL` (`http://127.0.0.1:8081`): users-api's internal API.
    public var usersAPIURL: String
    /// `INTERNAL_API_TOKEN`: shared secret for users-api's internal API.
    public var internalAPIToken: String
    /// `USERS_API_TIMEOUT_MS` (2000): the most a call to users-api may take.
    public var usersAPITimeout: Duration
    /// `TRUSTED_PROXIES` (`127.0.0.1/32,::1/128`): peers whose `X-Real-IP` names the client, whose
    /// address users-api charges wrong passwords to.
    public var trustedProxies: TrustedProxies

    /// Reads and validates every variable.
    public init(environment: EnvironmentReader) throws {
        self.http = try HTTPServerSettings(environment: environment, defaultPort: 8082)
        self.logLevel = try environment.logLevel()
        self.redis = try RedisConfiguration(environment: environment)
        self.sessionTTL = .seconds(try environment.int("SESSION_TTL_SECONDS", default: 86400, in: 1...31_536_000))
        self.sessionIdleTimeout = .seconds(try environment.int("SESSION_IDLE_TIMEOUT_SECONDS", default: 1800, in: 1...31_536_000))
        self.sessionMaxPerUser = try environment.int("SESSION_MAX_PER_USER", default: 50, in: 1...10000)
        let url = environment.string("USERS_API_URL", default: "http://127.0.0.1:8081")
        guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme ?? ""), parsed.host != nil else {
            throw ConfigurationError(key: "USERS_API_URL", expected: "an http(s) URL like http://127.0.0.1:8081", found: url)
        }
        self.usersAPIURL = url.hasSuffix("/") ? String(url.dropLast()) : url
        self.internalAPIToken = try environment.secret("INTERNAL_API_TOKEN", minimumLength: 16)
        self.usersAPITimeout = .milliseconds(try environment.int("USERS_API_TIMEOUT_MS", default: 2000, in: 50...60000))
        self.trustedProxies = try TrustedProxies(environment: environment)
    }
}
