import Common
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import SMTPMock
import TestSupport
import Testing

/// Issue 15: against a frozen Redis (SIGSTOP: connections open, nothing answered), readiness
/// answers 503 within its own 2 s bound, not after the 5 s command timeout, and ready again once
/// Redis thaws.
@Suite(.timeLimit(.minutes(1))) struct FrozenRedisReadinessTests {
    @Test func readinessAnswersWithinItsBoundWhenRedisFreezes() async throws {
        let server = try RedisServerProcess()
        defer { server.stop() }
        let environment = EnvironmentReader([
            "REDIS_URL": "redis://127.0.0.1:\(server.port)/0", "SMTP_MOCK_SMTP_PORT": "0",
            "MAIL_STREAM": "test:frozen:\(UUID().uuidString.prefix(8))",
        ])
        let app = try await buildApplication(
            configuration: SMTPMockConfiguration(environment: environment),
            logger: TestEnvironment.logger("frozen-redis")
        )
        try await app.test(.router) { client in
            #expect(try await client.execute(uri: "/health/ready", method: .get).status == .ok)
            server.pause()
            defer { server.resume() }
            let clock = ContinuousClock()
            let started = clock.now
            let frozen = try await client.execute(uri: "/health/ready", method: .get)
            let took = clock.now - started
            #expect(frozen.status == .serviceUnavailable)
            #expect(took < .milliseconds(3500), "answered after \(took), not the 5 s command timeout")
            server.resume()
            var ready = false
            for _ in 0..<100 where !ready {
                ready = try await client.execute(uri: "/health/ready", method: .get).status == .ok
                if !ready { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(ready, "ready again once Redis answers")
        }
    }
}
