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
    /// The idle rule on the store itself, with the clock the test gives (no sleeping): use is
    /// recorded at most every quarter of the timeout, and a session unused for longer ends.
    @Test func aSessionEndsAfterTheIdleTimeoutButNotWhileUsed() async throws {
        let redis = RedisClient(configuration: try TestEnvironment.redisConfiguration(), logger: TestEnvironment.logger("idle"))
        let store = SessionStore(redis: redis, ttl: .seconds(3600), idleTimeout: .seconds(40), maxPerUser: 50)
        let start = Date()
        let user = UUID()
        func at(_ seconds: Double) -> Date { start.addingTimeInterval(seconds) }
        let (used, _) = try #require(try await store.create(userID: user, profile: nil, userAgent: nil, stamp: nil, now: at(0)))
        let (idle, _) = try #require(try await store.create(userID: user, profile: nil, userAgent: nil, stamp: nil, now: at(0)))
        // Used every 30 s for 3 minutes (each use 30 s after the last: under the 40 s timeout).
        for second in stride(from: 30.0, through: 180, by: 30) {
            #expect(try await store.session(digest: sha256Hex(used), now: at(second)) != nil, "used at \(second) s")
        }
        #expect(try await store.list(userID: user, now: at(180)).count == 1, "the idle one is not listed")
        #expect(try await store.session(digest: sha256Hex(idle), now: at(180)) == nil, "never used for 180 s: ended")
        #expect(try await redis.send(RedisCommand("EXISTS", AccountSessions.sessionKey(sha256Hex(idle)))).int == 0, "and deleted")
        #expect(
            try await redis.send(RedisCommand("ZSCORE", AccountSessions.indexKey(user), sha256Hex(idle))).isNull,
            "and out of the account's index"
        )
        // Use is recorded at most every 10 s (a quarter of the timeout): the use at 185 s is not,
        // so at 221 s the session has been idle 41 s since the use recorded at 180 s.
        #expect(try await store.session(digest: sha256Hex(used), now: at(185)) != nil)
        #expect(try await store.session(digest: sha256Hex(used), now: at(221)) == nil)
        await redis.shutdown()
    }

    /// The same through auth-api's routes, with a real clock: a session left alone past
    /// `SESSION_IDLE_TIMEOUT_SECONDS` is a 401 (a slow machine only makes it idler).
    @Test func anIdleSessionIsA401() async throws {
        try await AuthAPIHarness.run { harness in
            let email = try await harness.account()
            try await harness.withAuthAPI(["SESSION_IDLE_TIMEOUT_SECONDS": "1"]) { auth in
                let token = try await auth.token(email)
                try await Task.sleep(for: .milliseconds(1500))
                let expired = try await auth.bearer(.get, "/v1/users/me", token: token)
                #expect(expired.status == .unauthorized && expired.headers[.wwwAuthenticate]?.contains("invalid_token") == true)
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
                #expect(try await sessions.end(userID: id, stamp: .init(value: "0123456789abcdef", version: 2)) == 1)
                // A change's Redis step that runs late (an older version) replaces nothing.
                #expect(try await sessions.end(userID: id, stamp: .init(value: "fedcba9876543210", version: 1)) == 0)
                #expect(try await redis.send(RedisCommand("GET", AccountSessions.stampKey(id))).string == "2:0123456789abcdef")
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

                // Deleting an account that is gone already (a repeated DELETE) is done: 204.
                let again = try await auth.token(try await harness.account())
                let gone = try #require(
                    ((try await auth.bearer(.get, "/v1/users/me", token: again)).json?["email"] as? String)
                )
                _ = try await harness.postgres.query("DELETE FROM users WHERE email = \(gone)", logger: harness.logger)
                let deletion = try await auth.execute(
                    uri: "/v1/users/me",
                    method: .delete,
                    headers: [.authorization: "Bearer \(again)", .contentType: "application/json"],
                    body: .init(string: #"{"password":"s3cret-password"}"#)
                )
                #expect(deletion.status == .noContent)
                #expect(try await auth.bearer(.get, "/v1/users/me", token: again).status == .unauthorized)
            }
        }
    }
}
