import Common
import Foundation
import TestSupport
import Testing

/// Every executable starts from the environment, answers its health endpoints, stops gracefully
/// on SIGTERM, and refuses bad configuration with one line and exit status 78.
@Suite(.serialized, .timeLimit(.minutes(3))) struct ServiceProcessTests {
    static let products = ["users-api", "auth-api", "mailer", "smtp-mock"]

    func environment(port: Int, redisURL: String? = nil) throws -> [String: String] {
        [
            "HTTP_PORT": String(port),
            "DATABASE_URL": try TestEnvironment.databaseURL(),
            "REDIS_URL": try redisURL ?? TestEnvironment.require("TEST_REDIS_URL"),
            "INTERNAL_API_TOKEN": "test-internal-token-0123456789",
            "LOG_LEVEL": "info",
        ]
    }

    @Test(arguments: products)
    func startsAnswersHealthAndStopsOnSIGTERM(product: String) async throws {
        let port = try RedisServerProcess.freePort()
        let process = try ServiceProcess(product: product, environment: try self.environment(port: port))
        #expect(try await ServiceProcess.waitFor("http://127.0.0.1:\(port)/health/live"))
        #expect(try await ServiceProcess.waitFor("http://127.0.0.1:\(port)/health/ready"))
        let started = ContinuousClock.now
        let (status, output) = process.terminate()
        #expect(status == 0, "graceful exit, got \(status): \(output.suffix(500))")
        #expect(ContinuousClock.now - started < .seconds(10))
        // Logs are JSON lines.
        for line in output.split(separator: "\n") where line.hasPrefix("{") {
            #expect((try? JSONSerialization.jsonObject(with: Data(line.utf8))) != nil, "not JSON: \(line)")
        }
    }

    @Test(arguments: products)
    func readinessFailsWhenRedisIsUnreachable(product: String) async throws {
        let port = try RedisServerProcess.freePort()
        let deadRedis = "redis://127.0.0.1:\(try RedisServerProcess.freePort())/0"
        let process = try ServiceProcess(product: product, environment: try self.environment(port: port, redisURL: deadRedis))
        defer { _ = process.terminate() }
        #expect(try await ServiceProcess.waitFor("http://127.0.0.1:\(port)/health/live"))
        let (code, body) = try await ServiceProcess.get("http://127.0.0.1:\(port)/health/ready")
        #expect(code == 503)
        #expect(body.contains("redis"))
    }

    @Test(arguments: products)
    func badConfigurationStopsTheProcessWithOneLine(product: String) async throws {
        var environment = try self.environment(port: try RedisServerProcess.freePort())
        environment["CODE_TTL_SECONDS"] = "soon"
        environment["SESSION_TTL_SECONDS"] = "soon"
        environment["REDIS_URL"] = "redis://"
        let process = try ServiceProcess(product: product, environment: environment)
        let (status, output) = process.waitForExit()
        #expect(status == 78)
        let lines = output.split(separator: "\n")
        #expect(lines.count == 1, "one line: \(output)")
        #expect(lines.first?.hasPrefix("\(product): invalid ") == true)
    }
}
