/// Where and how to reach Redis. The services read it from `REDIS_URL` and friends (Common's
/// `RedisConfiguration(environment:)`).
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
    /// How often the pool pings its open connections (``RedisClient/run()``).
    public var idlePingInterval: Duration = .seconds(30)
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
}
