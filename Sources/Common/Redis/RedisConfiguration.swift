/// Where and how to reach Redis, from `REDIS_URL` (`redis://[user:pass@]host:port/db`, or
/// `rediss://` for TLS).
public struct RedisConfiguration: Sendable, Equatable {
    /// The host name or address.
    public var host: String
    /// The port (default 6379).
    public var port: Int
    /// The ACL user for `AUTH`, if any.
    public var username: String?
    /// The password for `AUTH`, if any.
    public var password: String?
    /// The logical database for `SELECT`.
    public var database: Int
    /// Multiplexed connections in the pool (`REDIS_POOL_SIZE`, default 4).
    public var poolSize: Int
    /// How long a command may wait for its reply before the connection is dropped.
    public var commandTimeout: Duration
    /// How long connecting may take.
    public var connectTimeout: Duration
    /// TLS, for `rediss://` URLs; nil for plaintext.
    public var tls: RedisTLS?
    /// Sentinels that name the primary (`REDIS_SENTINELS`); then ``host`` and ``port`` are unused.
    public var sentinel: RedisSentinel?

    /// Creates a configuration directly.
    public init(
        host: String = "127.0.0.1",
        port: Int = 6379,
        username: String? = nil,
        password: String? = nil,
        database: Int = 0,
        poolSize: Int = 4,
        commandTimeout: Duration = .seconds(5),
        connectTimeout: Duration = .seconds(2),
        tls: RedisTLS? = nil,
        sentinel: RedisSentinel? = nil
    ) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.poolSize = poolSize
        self.commandTimeout = commandTimeout
        self.connectTimeout = connectTimeout
        self.tls = tls
        self.sentinel = sentinel
    }

    /// Where connections go, for logs and errors: `host:port`, or the sentinels' primary.
    public var target: String {
        if let sentinel { return "primary '\(sentinel.primaryName)' of sentinels \(sentinel.sentinels.map(\.description).joined(separator: ","))" }
        return "\(self.host):\(self.port)"
    }

    /// Parses a `redis://` URL; `key` names the variable in errors.
    public init(url: String, key: String = "REDIS_URL", poolSize: Int = 4, tls: RedisTLS? = nil) throws {
        let parsed = try ConnectionURL(url, key: key, schemes: ["redis", "rediss"], example: "redis://[user:pass@]host:6379/0")
        let path = parsed.path.hasPrefix("/") ? String(parsed.path.dropFirst()) : parsed.path
        let database: Int
        if path.isEmpty {
            database = 0
        } else if let number = Int(path), (0...15).contains(number) {
            database = number
        } else {
            throw ConfigurationError(key: key, expected: "a database number 0-15 after the port", found: ConnectionURL.redacted(url))
        }
        // `redis://:password@host` is the classic password-only form (no ACL user).
        self.init(
            host: parsed.host,
            port: parsed.port ?? 6379,
            username: parsed.password == nil ? nil : parsed.user,
            password: parsed.password,
            database: database,
            poolSize: poolSize,
            tls: parsed.scheme == "rediss" ? try tls ?? RedisTLS() : nil
        )
    }

    /// Reads `REDIS_URL` (default `redis://127.0.0.1:6379/0`), `REDIS_POOL_SIZE`, for
    /// `rediss://` `REDIS_TLS_CA_FILE`, `REDIS_TLS_CERT_FILE` and `REDIS_TLS_KEY_FILE`, and for
    /// Sentinel `REDIS_SENTINELS`, `REDIS_SENTINEL_MASTER` and `REDIS_SENTINEL_PASSWORD` (then
    /// the URL's host and port are not used; its credentials, database and scheme are).
    public init(environment: EnvironmentReader) throws {
        let url = environment.string("REDIS_URL", default: "redis://127.0.0.1:6379/0")
        let (ca, certificate, key) = (
            environment.raw("REDIS_TLS_CA_FILE"), environment.raw("REDIS_TLS_CERT_FILE"), environment.raw("REDIS_TLS_KEY_FILE")
        )
        if (certificate == nil) != (key == nil) {
            throw ConfigurationError(key: "REDIS_TLS_CERT_FILE", expected: "set together with REDIS_TLS_KEY_FILE", found: nil)
        }
        var tls: RedisTLS?
        if url.lowercased().hasPrefix("rediss://") {
            do {
                tls = try RedisTLS(caFile: ca, certificateFile: certificate, keyFile: key)
            } catch {
                throw ConfigurationError(key: "REDIS_TLS_CA_FILE", expected: "readable PEM files (CA, certificate, key)", found: "\(error)")
            }
        }
        try self.init(url: url, poolSize: environment.int("REDIS_POOL_SIZE", default: 4, in: 1...64), tls: tls)
        if let sentinels = environment.raw("REDIS_SENTINELS"), !sentinels.isEmpty {
            guard let name = environment.raw("REDIS_SENTINEL_MASTER") else {
                throw ConfigurationError(key: "REDIS_SENTINEL_MASTER", expected: "the primary's name, with REDIS_SENTINELS", found: nil)
            }
            self.sentinel = try RedisSentinel(list: sentinels, primaryName: name, password: environment.raw("REDIS_SENTINEL_PASSWORD"))
        } else if environment.raw("REDIS_SENTINEL_MASTER") != nil {
            throw ConfigurationError(key: "REDIS_SENTINELS", expected: "host:port,… with REDIS_SENTINEL_MASTER", found: nil)
        }
    }
}
