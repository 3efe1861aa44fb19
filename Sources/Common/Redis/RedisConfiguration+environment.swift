import Redis

extension RedisConfiguration {
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
