/// Where a service listens: `HTTP_HOST` (default `127.0.0.1`) and `HTTP_PORT` (a default per service).
public struct HTTPServerSettings: Sendable, Equatable {
    /// The address to bind.
    public var host: String
    /// The port to bind.
    public var port: Int
    /// `SHUTDOWN_DRAIN_SECONDS` (1): after SIGTERM, how long requests are still served while
    /// `/health/ready` already answers 503 (see ``ShutdownGate``).
    public var drainPeriod: Duration = .seconds(1)

    /// Creates settings directly.
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Reads `HTTP_HOST` and `HTTP_PORT`.
    public init(environment: EnvironmentReader, defaultPort: Int) throws {
        self.host = environment.string("HTTP_HOST", default: "127.0.0.1")
        self.port = try environment.port("HTTP_PORT", default: defaultPort)
        self.drainPeriod = .seconds(try environment.int("SHUTDOWN_DRAIN_SECONDS", default: 1, in: 0...60))
    }
}
