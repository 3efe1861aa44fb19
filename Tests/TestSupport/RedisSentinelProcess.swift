import Common
import Foundation

/// A `redis-server --sentinel` of the test's own, on a free loopback port, monitoring one
/// primary under the name `registrar`; it detects a dead primary after `downAfter`.
public final class RedisSentinelProcess: @unchecked Sendable {
    // @unchecked: `process` is only touched by the test that owns this object, sequentially.
    /// The port it listens on.
    public let port: Int
    private let directory: String
    private var process: Process?

    /// Starts a sentinel monitoring `127.0.0.1:primaryPort` (quorum 1: a single sentinel decides).
    public init(primaryPort: Int, downAfter: Duration = .seconds(1)) throws {
        self.port = try RedisServerProcess.freePort()
        self.directory = FileManager.default.temporaryDirectory.appendingPathComponent("sentinel-\(self.port)-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: self.directory, withIntermediateDirectories: true)
        let configuration = """
            port \(self.port)
            bind 127.0.0.1
            dir \(self.directory)
            sentinel monitor registrar 127.0.0.1 \(primaryPort) 1
            sentinel down-after-milliseconds registrar \(downAfter.wholeMilliseconds)
            sentinel failover-timeout registrar 5000

            """
        let file = "\(self.directory)/sentinel.conf"
        try configuration.write(toFile: file, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try TestEnvironment.require("REDIS_SERVER_BINARY"))
        process.arguments = [file, "--sentinel"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        TestEnvironment.recordSpawned(process.processIdentifier)
        self.process = process
        try RedisServerProcess.waitUntilAccepting(port: self.port)
    }

    deinit { self.stop() }

    /// The sentinel's address, for ``RedisSentinel``.
    public var address: RedisSentinel.Address { RedisSentinel.Address(host: "127.0.0.1", port: self.port) }

    /// Kills the sentinel and removes its directory.
    public func stop() {
        guard let process = self.process else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        self.process = nil
        try? FileManager.default.removeItem(atPath: self.directory)
    }
}
