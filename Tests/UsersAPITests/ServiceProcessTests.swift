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
            "SMTP_MOCK_SMTP_PORT": "0",  // any free port: a make up stack may hold 1025
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

    /// What Kubernetes relies on: on SIGTERM readiness fails at once, requests are still served
    /// through SHUTDOWN_DRAIN_SECONDS, the request in flight finishes, and the process exits soon after.
    @Test func sigtermFailsReadinessFirstThenFinishesInFlightWork() async throws {
        try await TemporaryDatabase.with { settings in
            let databaseURL = "postgresql://app:app@\(settings.host):\(settings.port)/\(settings.database)"
            let migrate = try ServiceProcess(product: "users-api", environment: ["DATABASE_URL": databaseURL], arguments: ["migrate"])
            #expect(migrate.waitForExit().status == 0)
            let port = try RedisServerProcess.freePort()
            var environment = try self.environment(port: port)
            environment["DATABASE_URL"] = databaseURL
            environment["BCRYPT_COST"] = "15"  // a registration in flight for about 1.6 s
            environment["BCRYPT_MAX_WAIT_MS"] = "20000"
            environment["SHUTDOWN_DRAIN_SECONDS"] = "2"
            let process = try ServiceProcess(product: "users-api", environment: environment)
            let base = "http://127.0.0.1:\(port)"
            #expect(try await ServiceProcess.waitFor("\(base)/health/ready", timeout: .seconds(60)))
            async let registration = HTTP.request(
                "POST",
                "\(base)/v1/users",
                json: ["email": "drain-\(UUID().uuidString.prefix(8))@example.com", "password": "s3cret-password"]
            )
            try await Task.sleep(for: .milliseconds(300))
            let signalled = ContinuousClock.now
            kill(process.pid, SIGTERM)
            try await Task.sleep(for: .milliseconds(150))
            #expect(try await ServiceProcess.get("\(base)/health/ready").0 == 503, "readiness fails first")
            #expect(try await ServiceProcess.get("\(base)/health/live").0 == 200, "requests are still served while draining")
            #expect(try await registration.status == 202, "the request in flight finished")
            let (status, output) = process.waitForExit()
            #expect(status == 0, "\(output.suffix(300))")
            #expect(ContinuousClock.now - signalled < .seconds(8), "exits within the drain period plus in-flight work")
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
