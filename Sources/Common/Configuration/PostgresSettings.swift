/// Where and how to reach Postgres, from `DATABASE_URL` (`postgresql://user:pass@host:port/db`).
public struct PostgresSettings: Sendable, Equatable {
    /// The host name or address.
    public var host: String
    /// The port (default 5432).
    public var port: Int
    /// The role.
    public var username: String
    /// The password, if any.
    public var password: String?
    /// The database.
    public var database: String
    /// The most connections the pool opens (`DATABASE_POOL_SIZE`, default 10).
    public var maximumConnections: Int
    /// How the connection is protected (`sslmode` in the URL, libpq's names).
    public var tlsMode: PostgresTLSMode
    /// The CA certificate(s) that verify the server (`sslrootcert`, a PEM file); nil for the
    /// system's trust store.
    public var rootCertificatePath: String?
    /// The most a request's database work may take (`DATABASE_TIMEOUT_MS`, default 5000) before it
    /// is answered 503: while Postgres is unreachable, postgres-nio queues queries for 15 s or more.
    public var requestTimeout: Duration

    /// Parses a `postgresql://` or `postgres://` URL; `key` names the variable in errors.
    public init(url: String, key: String = "DATABASE_URL", maximumConnections: Int = 10, requestTimeout: Duration = .seconds(5)) throws {
        let parsed = try ConnectionURL(url, key: key, schemes: ["postgres", "postgresql"], example: "postgresql://user:pass@host:5432/db")
        let database = parsed.path.hasPrefix("/") ? String(parsed.path.dropFirst()) : parsed.path
        guard let user = parsed.user, !database.isEmpty, !database.contains("/") else {
            throw ConfigurationError(
                key: key,
                expected: "a URL like postgresql://user:pass@host:5432/db (user and database are required)",
                found: ConnectionURL.redacted(url)
            )
        }
        let modeText = parsed.query["sslmode"] ?? "disable"
        guard let mode = PostgresTLSMode(rawValue: modeText) else {
            throw ConfigurationError(
                key: key,
                expected: "sslmode disable, allow, prefer, require, verify-ca or verify-full",
                found: ConnectionURL.redacted(url)
            )
        }
        if let unknown = parsed.query.keys.first(where: { !["sslmode", "sslrootcert"].contains($0) }) {
            throw ConfigurationError(
                key: key,
                expected: "only the parameters sslmode and sslrootcert (not \(unknown))",
                found: ConnectionURL.redacted(url)
            )
        }
        if let root = parsed.query["sslrootcert"], root.isEmpty || mode == .disable {
            throw ConfigurationError(key: key, expected: "sslrootcert=<PEM file> with an sslmode that uses TLS", found: ConnectionURL.redacted(url))
        }
        self.tlsMode = mode
        self.rootCertificatePath = parsed.query["sslrootcert"]
        self.host = parsed.host
        self.port = parsed.port ?? 5432
        self.username = user
        self.password = parsed.password
        self.database = database
        self.maximumConnections = maximumConnections
        self.requestTimeout = requestTimeout
    }

    /// Reads `DATABASE_URL` (default `postgresql://app:app@127.0.0.1:5432/app`, the seed's),
    /// `DATABASE_POOL_SIZE` and `DATABASE_TIMEOUT_MS`.
    public init(environment: EnvironmentReader) throws {
        try self.init(
            url: environment.string("DATABASE_URL", default: "postgresql://app:app@127.0.0.1:5432/app"),
            maximumConnections: environment.int("DATABASE_POOL_SIZE", default: 10, in: 1...200),
            requestTimeout: .milliseconds(environment.int("DATABASE_TIMEOUT_MS", default: 5000, in: 100...120_000))
        )
    }
}

/// `sslmode` of a Postgres URL, as libpq names them.
public enum PostgresTLSMode: String, Sendable, Equatable {
    /// Plaintext only (the default).
    case disable
    /// Plaintext, or TLS if the server insists (treated like `prefer`).
    case allow
    /// TLS if the server offers it, without verifying its certificate.
    case prefer
    /// TLS, without verifying the certificate (unless `sslrootcert` is given: then as `verify-ca`).
    case require
    /// TLS, with the certificate chained to `sslrootcert` (or the system store); any host name.
    case verifyCA = "verify-ca"
    /// TLS, with the certificate chained to `sslrootcert` (or the system store) and naming the host.
    case verifyFull = "verify-full"
}
