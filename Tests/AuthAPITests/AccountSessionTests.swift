import Common
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import PostgresNIO
import TestSupport
import Testing

@testable import AuthAPI

/// auth-api's side of the account lifecycle with a real users-api process and Redis: the idle
/// timeout, the security-stamp fence on logins, and a session whose account is gone.
@Suite(.timeLimit(.minutes(2))) struct AccountSessionTests {
    @Test func aSessionEndsAfterTheIdleTimeoutButNotWhileUsed() async throws {
        try await AuthAPIHarness.run { harness in
            let email = try await harness.account()
            // 4 s, use recorded every second: a session used every 0.5 s never goes 3 s without a
            // recorded use, even when a login or a request takes a second on a loaded machine.
            try await harness.withAuthAPI(["SESSION_IDLE_TIMEOUT_SECONDS": "4"]) { auth in
                let idle = try await auth.token(email)
                let used = try await auth.token(email)
                let started = ContinuousClock.now
                // Used for 9 s (over twice the timeout): it lives; the other one, never used, ends.
                while ContinuousClock.now - started < .seconds(9) {
                    #expect(try await auth.bearer(.get, "/v1/users/me", token: used).status == .ok)
                    try await Task.sleep(for: .milliseconds(500))
                }
                let expired = try await auth.bearer(.get, "/v1/users/me", token: idle)
                #expect(expired.status == .unauthorized && expired.headers[.wwwAuthenticate]?.contains("invalid_token") == true)
                let listed = try await auth.bearer(.get, "/v1/users/me/sessions", token: used)
                #expect(
                    (try JSONSerialization.jsonObject(with: Data(listed.body.readableBytesView)) as? [Any])?.count == 1,
                    "idle sessions are not listed"
                )
                try await Task.sleep(for: .milliseconds(4500))
                #expect(try await auth.bearer(.get, "/v1/users/me", token: used).status == .unauthorized, "then idle too")
            }
        }
    }

    @Test func aLoginIsRefusedWhenTheAccountsStampChangedDuringIt() async throws {
        try await AuthAPIHarness.run { harness in
            let email = try await harness.account()
            try await harness.withAuthAPI { auth in
                let token = try await auth.token(email)
                let me = try await auth.bearer(.get, "/v1/users/me", token: token)
                let id = try #require(
                    ((try JSONSerialization.jsonObject(with: Data(me.body.readableBytesView)) as? [String: Any])?["id"] as? String)
                        .flatMap(UUID.init(uuidString:))
                )
                let redis = RedisClient(configuration: try TestEnvironment.redisConfiguration(), logger: harness.logger)
                let sessions = AccountSessions(redis: redis)
                // What users-api records when the password changes between a login's check and its session.
                #expect(try await sessions.endAll(userID: id, stamp: "0123456789abcdef") == 1)
                #expect(try await auth.bearer(.get, "/v1/users/me", token: token).status == .unauthorized, "existing sessions ended")
                let refused = try await auth.login(email)
                #expect(refused.status == .unauthorized && refused.problemCode == "invalid_credentials", "the old password's login makes no session")
                #expect(try await redis.send(RedisCommand("ZCARD", AccountSessions.indexKey(id))).int == 0)
                _ = try await redis.delete(AccountSessions.stampKey(id))
                #expect(try await auth.login(email).status == .ok, "once the fence is gone, the same credentials log in")
                await redis.shutdown()
            }
        }
    }

    @Test func anAccountRouteForADeletedAccountEndsTheSession() async throws {
        try await AuthAPIHarness.run { harness in
            let email = try await harness.account()
            try await harness.withAuthAPI { auth in
                let token = try await auth.token(email)
                _ = try await harness.postgres.query("DELETE FROM users WHERE email = \(email)", logger: harness.logger)
                let answer = try await auth.execute(
                    uri: "/v1/users/me/password",
                    method: .post,
                    headers: [.authorization: "Bearer \(token)", .contentType: "application/json"],
                    body: .init(string: #"{"current_password":"s3cret-password","new_password":"another-password"}"#)
                )
                #expect(answer.status == .unauthorized && answer.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
                #expect(try await auth.bearer(.get, "/v1/users/me", token: token).status == .unauthorized, "the session ended")
            }
        }
    }
}
