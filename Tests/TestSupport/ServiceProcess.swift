import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// One of our executables started as a real process (`BUILT_PRODUCTS_DIR`, set by `make test`),
/// with its output captured, for start-up, health and graceful-shutdown tests.
public final class ServiceProcess: @unchecked Sendable {
    // @unchecked: the process and pipe are used by the one test that owns this object.
    private let process = Process()
    /// Output goes to a file, not a pipe: a chatty process must never block on a full pipe.
    private let outputURL = FileManager.default.temporaryDirectory.appendingPathComponent("registrar-\(UUID().uuidString).log")

    /// Starts `product` with `environment` (added to a minimal PATH-only environment, plus
    /// `REDIS_TLS_CA_FILE` = `TEST_REDIS_CA` when the test Redis speaks TLS).
    public init(product: String, environment: [String: String], arguments: [String] = []) throws {
        let directory = try TestEnvironment.require("BUILT_PRODUCTS_DIR")
        self.process.executableURL = URL(fileURLWithPath: directory).appendingPathComponent(product)
        self.process.arguments = arguments
        var base = ["PATH": "/usr/bin:/bin"]
        if let ca = ProcessInfo.processInfo.environment["TEST_REDIS_CA"] { base["REDIS_TLS_CA_FILE"] = ca }
        self.process.environment = base.merging(environment) { _, new in new }
        FileManager.default.createFile(atPath: self.outputURL.path, contents: nil)
        let output = try FileHandle(forWritingTo: self.outputURL)
        self.process.standardOutput = output
        self.process.standardError = output
        try self.process.run()
        TestEnvironment.recordSpawned(self.process.processIdentifier)
        try output.close()
    }

    deinit {
        if self.process.isRunning { Foundation.kill(self.process.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(at: self.outputURL)
    }

    /// The process id.
    public var pid: Int32 { self.process.processIdentifier }

    /// Waits for the process to exit and returns its status and everything it printed.
    public func waitForExit() -> (status: Int32, output: String) {
        self.process.waitUntilExit()
        let data = (try? Data(contentsOf: self.outputURL)) ?? Data()
        return (self.process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// `kill -9`: the process gets no chance to clean up.
    public func kill() {
        Foundation.kill(self.process.processIdentifier, SIGKILL)
        self.process.waitUntilExit()
    }

    /// Sends SIGTERM and waits for the exit.
    public func terminate() -> (status: Int32, output: String) {
        self.process.terminate()
        return self.waitForExit()
    }

    /// Polls `url` until it answers `status`, for at most `timeout`.
    public static func waitFor(_ url: String, status: Int = 200, timeout: Duration = .seconds(30)) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let (code, _) = try? await get(url), code == status { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    /// `GET url`: the status code and body.
    public static func get(_ url: String) async throws -> (Int, String) {
        var request = URLRequest(url: URL(string: url)!)
        request.timeoutInterval = 2
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }
}
