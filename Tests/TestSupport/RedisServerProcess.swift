import Common
import Foundation

/// A `redis-server` of the test's own, on a free loopback port, that the test can stop and
/// restart (the shared test Redis must not be restarted under other suites).
public final class RedisServerProcess: @unchecked Sendable {
    // @unchecked: `process` is only touched by the test that owns this object, sequentially.
    /// The port it listens on (kept across restarts).
    public let port: Int
    private let arguments: [String]
    private let tlsDirectory: String?
    private var process: Process?

    /// Starts a server with extra `arguments` (e.g. `["--requirepass", "secret"]`); with
    /// `tlsDirectory` (holding `ca.crt`, `server.crt`, `server.key`), it speaks TLS only.
    public init(arguments: [String] = [], tlsDirectory: String? = nil) throws {
        self.port = try Self.freePort()
        self.arguments = arguments
        self.tlsDirectory = tlsDirectory
        try self.start()
    }

    deinit { self.stop() }

    /// The server's configuration for clients.
    public func configuration(password: String? = nil, username: String? = nil, database: Int = 0) -> RedisConfiguration {
        RedisConfiguration(host: "127.0.0.1", port: self.port, username: username, password: password, database: database)
    }

    /// Starts (again) and waits until it accepts connections.
    public func start() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try TestEnvironment.require("REDIS_SERVER_BINARY"))
        var listen = ["--port", String(self.port)]
        if let directory = self.tlsDirectory {
            listen = [
                "--port", "0", "--tls-port", String(self.port), "--tls-cert-file", "\(directory)/server.crt",
                "--tls-key-file", "\(directory)/server.key", "--tls-ca-cert-file", "\(directory)/ca.crt", "--tls-auth-clients", "no",
            ]
        }
        process.arguments = listen + ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"] + self.arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        TestEnvironment.recordSpawned(process.processIdentifier)
        self.process = process
        try Self.waitUntilAccepting(port: self.port)
    }

    /// Waits until something accepts connections on 127.0.0.1:`port`; throws after 2 s.
    static func waitUntilAccepting(port: Int) throws {
        for _ in 0..<100 {
            if Self.accepts(port: port) { return }
            usleep(20_000)
        }
        throw TimeoutError(timeout: .seconds(2))
    }

    /// Kills the server (SIGKILL: a crash, and SIGTERM may be ignored by children of a test
    /// process that installed signal handlers) and waits for it to exit.
    public func stop() {
        guard let process = self.process else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        self.process = nil
    }

    /// Freezes the server (SIGSTOP): connections stay open, nothing is answered.
    public func pause() {
        if let process = self.process { kill(process.processIdentifier, SIGSTOP) }
    }

    /// Thaws a paused server (SIGCONT).
    public func resume() {
        if let process = self.process { kill(process.processIdentifier, SIGCONT) }
    }

    static func accepts(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    /// A port nothing listens on, chosen by the kernel.
    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw POSIXError(.EADDRNOTAVAIL) }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
