import Common
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import TestSupport
import Testing
import UsersAPI

/// users-api with its Postgres unreachable: every route that needs it answers 503 with
/// `Retry-After` within `DATABASE_TIMEOUT_MS`, never a 500 and never a hang (postgres-nio alone
/// would queue each request for 15 s or more, then fail it with an error of its pool).
@Suite(.timeLimit(.minutes(1))) struct PostgresOutageTests {
    @Test func anUnreachablePostgresIsAPrompt503() async throws {
        let deadPort = try RedisServerProcess.freePort()  // nothing listens there
        let environment = [
            "DATABASE_URL": "postgresql://app:app@127.0.0.1:\(deadPort)/app", "DATABASE_TIMEOUT_MS": "500",
            "REDIS_URL": try TestEnvironment.require("TEST_REDIS_URL"), "INTERNAL_API_TOKEN": UsersAPIHarness.internalToken,
            "BCRYPT_COST": "4",
        ]
        let configuration = try UsersAPIConfiguration(environment: TestEnvironment.reader(environment))
        let app = try await buildApplication(configuration: configuration, logger: TestEnvironment.logger("users-api-outage"))
        try await app.test(.router) { client in
            let email = UsersAPIHarness.uniqueEmail("outage")
            let register = UsersAPIHarness.json(["email": email, "password": "s3cret-password"])
            let requests: [(String, HTTPFields, String)] = [
                ("/v1/users", [:], register),
                ("/v1/users", [:], register),  // not 429: the failed attempt released its throttle
                ("/v1/users/activate", UsersAPIHarness.basic(email, "s3cret-password"), #"{"code":"1234"}"#),
                (
                    "/internal/v1/credentials/verify", [.authorization: "Bearer \(UsersAPIHarness.internalToken)"],
                    register
                ),
            ]
            for (uri, headers, body) in requests {
                let started = ContinuousClock.now
                var headers = headers
                headers[.contentType] = "application/json"
                let response = try await client.execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(string: body))
                #expect(response.status == .serviceUnavailable, "\(uri)")
                #expect(response.headers[.retryAfter] != nil, "\(uri)")
                #expect(response.problem?.code == "service_unavailable", "\(uri)")
                #expect(response.problem?.detail?.contains("Postgres") == true, "\(uri)")
                #expect(ContinuousClock.now - started < .seconds(5), "\(uri) answered within the deadline, not after the pool's 15+ s")
            }
            #expect(try await client.execute(uri: "/health/ready", method: .get).status == .serviceUnavailable)
        }
    }
}
