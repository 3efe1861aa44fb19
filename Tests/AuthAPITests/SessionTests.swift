import Common
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import PostgresNIO
import TestSupport
import Testing

@Suite(.serialized, .timeLimit(.minutes(3))) struct SessionTests {
    @Test func loginGivesABearerTokenAndMeReturnsTheProfile() async throws {
        try await AuthAPIHarness.run { harness in
            let email = try await harness.account()
            try await harness.withAuthAPI { auth in
                let login = try await auth.login(email.uppercased())
                #expect(login.status == .ok)
                #expect(login.headers[.cacheControl] == "no-store")
                let body = try #require(login.json)
                #expect(Set(body.keys) == ["token", "token_type", "expires_in"])
                #expect(body["token_type"] as? String == "Bearer")
                #expect(body["expires_in"] as? Int == 86400)
                let token = try #require(body["token"] as? String)
                #expect(token.count == 43)

                let me = try await auth.bearer(.get, "/v1/users/me", token: token)
                #expect(me.status == .ok)
                let profile = try #require(me.json)
                #expect(Set(profile.keys) == ["id", "email", "status", "created_at", "activated_at"])
                #expect(profile["email"] as? String == email)
                #expect(profile["status"] as? String == "active")
                #expect(profile["activated_at"] is String)
            }
        }
    }

    @Test func wrongPasswordAndUnknownEmailGetIdentical401s() async throws {
        try await AuthAPIHarness.run { harness in
            let email = try await harness.account()
            try await harness.withAuthAPI { auth in
                let wrong = try await auth.login(email, "wrong-password")
                let unknown = try await auth.login("nobody-\(UUID().uuidString.prefix(6))@example.com", "wrong-password")
                for response in [wrong, unknown] {
                    #expect(response.status == .unauthorized)
                    #expect(response.problemCode == "invalid_credentials")
                    #expect(response.headers[.wwwAuthenticate]?.hasPrefix("Basic") == true)
                }
                #expect(String(buffer: wrong.body) == String(buffer: unknown.body))
                let broken = try await auth.execute(uri: "/v1/users/login", method: .post, headers: [.authorization: "Basic %%%"])
                #expect(broken.status == .unauthorized)
                #expect(try await auth.execute(uri: "/v1/users/login", method: .post).status == .unauthorized)
            }
        }
    }

    @Test func aPendingAccountIs403() async throws {
        try await AuthAPIHarness.run { harness in
            let email = try await harness.account(activate: false)
            try await harness.withAuthAPI { auth in
                let login = try await auth.login(email)
                #expect(login.status == .forbidden)
                #expect(login.problemCode == "user_not_active")
            }
        }
    }

    /// users-api counts wrong passwords per account and client (LOGIN_MAX_FAILURES, 10): auth-api
    /// tells it the client from the edge's X-Real-IP and relays its 429 with Retry-After.
    @Test func spentCredentialBudgetIsRelayedAndChargedToTheClient() async throws {
        try await AuthAPIHarness.run { harness in
            let email = try await harness.account()
            try await harness.withAuthAPI(live: true) { auth in
                let attacker = "10.0.\(Int.random(in: 0...255)).\(Int.random(in: 1...250))"
                for _ in 0..<10 { #expect(try await auth.login(email, "wrong", address: attacker).status == .unauthorized) }
                let limited = try await auth.login(email, address: attacker)
                #expect(limited.status == .tooManyRequests, "the right password too, from that client")
                #expect(limited.problemCode == "too_many_login_failures")
                #expect((880...900).contains(Int(limited.headers[.retryAfter] ?? "") ?? 0))
                #expect(try await auth.login(email, address: "198.51.100.\(Int.random(in: 1...250))").status == .ok, "the owner elsewhere is not")
            }
        }
    }

    /// From a peer that is not a trusted proxy, X-Real-IP is ignored: rotating it buys nothing.
    @Test func xRealIPFromAnUntrustedPeerIsIgnored() async throws {
        try await AuthAPIHarness.run { harness in
            let email = try await harness.account()
            try await harness.withAuthAPI(["TRUSTED_PROXIES": "192.0.2.1/32"], live: true) { auth throws in
                for index in 0..<10 {
                    let response = try await auth.login(email, "wrong", address: "10.1.1.\(index + 1)")
                    #expect(response.status == .unauthorized)
                }
                #expect(try await auth.login(email, address: "10.1.1.99").status == .tooManyRequests)
            }
        }
    }

    @Test(arguments: [
        "", "Basic abc", "Bearer", "Bearer ", "Bearer short", "Bearer " + String(repeating: "A", count: 43),
        "bearer " + String(repeating: "%", count: 43),
    ])
    func missingOrBadTokensAre401NeverForbidden(header: String) async throws {
        try await AuthAPIHarness.run { harness in
            try await harness.withAuthAPI { auth in
                var headers = HTTPFields()
                if !header.isEmpty { headers[.authorization] = header }
                for (method, uri) in [
                    (HTTPRequest.Method.get, "/v1/users/me"), (.post, "/v1/users/logout"), (.get, "/v1/users/me/sessions"),
                    (.delete, "/v1/users/me/sessions"),
                ] {
                    let response = try await auth.execute(uri: uri, method: method, headers: headers)
                    #expect(response.status == .unauthorized, "\(method) \(uri)")
                    #expect(response.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
                    #expect(response.problemCode == "invalid_token")
                }
            }
        }
    }

    @Test func logoutKillsTheTokenOnEveryReplicaAtOnce() async throws {
        try await AuthAPIHarness.run { harness in
            let email = try await harness.account()
            try await harness.withAuthAPI { first in
                try await harness.withAuthAPI { second in
                    let token = try await first.token(email)
                    #expect(
                        try await second.bearer(.get, "/v1/users/me", token: token).status == .ok,
                        "a session made on one replica works on another"
                    )
                    #expect(try await second.bearer(.post, "/v1/users/logout", token: token).status == .noContent)
                    #expect(try await first.bearer(.get, "/v1/users/me", token: token).status == .unauthorized)
                    #expect(try await second.bearer(.post, "/v1/users/logout", token: token).status == .unauthorized)
                }
            }
        }
    }

    @Test func sessionsAreListedWithoutTokensAndCanAllBeEnded() async throws {
        try await AuthAPIHarness.run { harness in
            let email = try await harness.account()
            try await harness.withAuthAPI { auth in
                let first = try await auth.token(email)
                let second = try await auth.token(email)
                let listed = try await auth.bearer(.get, "/v1/users/me/sessions", token: second)
                #expect(listed.status == .ok)
                let sessions = try #require(listed.jsonArray)
                #expect(sessions.count == 2)
                #expect(sessions.map { $0["current"] as? Bool } == [false, true])
                #expect(Set(sessions[0].keys) == ["id", "created_at", "expires_at", "last_seen_at", "user_agent", "current"])
                let text = String(buffer: listed.body)
                #expect(!text.contains(first) && !text.contains(second), "tokens never leave the login response")

                #expect(try await auth.bearer(.delete, "/v1/users/me/sessions", token: first).status == .noContent)
                #expect(try await auth.bearer(.get, "/v1/users/me", token: first).status == .unauthorized)
                #expect(try await auth.bearer(.get, "/v1/users/me", token: second).status == .unauthorized)
            }
        }
    }

    /// SESSION_MAX_PER_USER: a login past the cap ends the account's oldest session.
    @Test func liveSessionsPerAccountAreCappedOldestFirst() async throws {
        try await AuthAPIHarness.run { harness in
            let email = try await harness.account()
            try await harness.withAuthAPI(["SESSION_MAX_PER_USER": "3"]) { auth in
                var tokens: [String] = []
                for _ in 0..<5 { tokens.append(try await auth.token(email)) }
                for (index, token) in tokens.enumerated() {
                    let status = try await auth.bearer(.get, "/v1/users/me", token: token).status
                    #expect(status == (index < 2 ? .unauthorized : .ok), "session \(index)")
                }
                #expect(try await auth.bearer(.get, "/v1/users/me/sessions", token: tokens[4]).jsonArray?.count == 3)
            }
        }
    }

    /// Redis full (maxmemory, noeviction): logins answer 503, nothing is evicted, and existing
    /// sessions keep answering /me (reads still work).
    @Test func aFullRedisRefusesWritesWith503AndEvictsNothing() async throws {
        let redis = try RedisServerProcess(arguments: ["--maxmemory", "3mb", "--maxmemory-policy", "noeviction"])
        defer { redis.stop() }
        try await AuthAPIHarness.run { harness in
            let email = try await harness.account()
            try await harness.withAuthAPI(["REDIS_URL": "redis://127.0.0.1:\(redis.port)/0"]) { auth in
                let token = try await auth.token(email)
                // Full: maxmemory below what is used now (noeviction: every write is refused).
                let admin = RedisClient(configuration: redis.configuration(), logger: harness.logger)
                for index in 0..<200 { _ = try await admin.send(RedisCommand("SET", "filler:\(index)", String(repeating: "x", count: 1000))) }
                let info = try await admin.send(RedisCommand("INFO", "memory")).string ?? ""
                let used = try #require(info.split(separator: "\r\n").first { $0.hasPrefix("used_memory:") }.flatMap { Int($0.dropFirst(12)) })
                _ = try await admin.send(RedisCommand("CONFIG", "SET", "maxmemory", String(used / 2)))
                let refused = await #expect(throws: RedisServerError.self) { try await admin.send(RedisCommand("SET", "one-more", "x")) }
                #expect(refused?.code == "OOM")
                let login = try await auth.login(email)
                #expect(login.status == .serviceUnavailable, "a write refused by a full Redis is an outage, never a 500")
                #expect(login.headers[.retryAfter] != nil && login.problemCode == "service_unavailable")
                #expect(try await auth.bearer(.get, "/v1/users/me", token: token).status == .ok, "nothing was evicted")
                #expect(try await admin.send(RedisCommand("EXISTS", "filler:0")).int == 1)
                await admin.shutdown()
            }
        }
    }

    @Test func redisHoldsOnlyTheTokenDigest() async throws {
        try await AuthAPIHarness.run { harness in
            let email = try await harness.account()
            try await harness.withAuthAPI { auth in
                let token = try await auth.token(email)
                let redis = RedisClient(configuration: try TestEnvironment.redisConfiguration(), logger: harness.logger)
                let digestKey = "registrar:session:\(sha256Hex(token))"
                #expect(try await redis.send(RedisCommand("EXISTS", digestKey)).int == 1)
                let keys = try await redis.send(RedisCommand("KEYS", "*\(token)*")).array ?? []
                #expect(keys.isEmpty)
                let stored = try await redis.send(RedisCommand("HGETALL", digestKey)).array?.compactMap(\.string) ?? []
                #expect(!stored.contains(token))
                await redis.shutdown()
            }
        }
    }

    @Test func sessionsExpire() async throws {
        try await AuthAPIHarness.run { harness in
            let email = try await harness.account()
            try await harness.withAuthAPI(["SESSION_TTL_SECONDS": "3"]) { auth in
                let token = try await auth.token(email)
                #expect(try await auth.bearer(.get, "/v1/users/me", token: token).status == .ok)
                try await Task.sleep(for: .milliseconds(3200))
                #expect(try await auth.bearer(.get, "/v1/users/me", token: token).status == .unauthorized)
            }
        }
    }

    @Test func usersAPIDownMeans503ForLoginWhileSessionsKeepWorking() async throws {
        try await AuthAPIHarness.run { harness in
            let email = try await harness.account()
            try await harness.withAuthAPI { auth in
                let token = try await auth.token(email)
                let before = try await auth.bearer(.get, "/v1/users/me", token: token)
                harness.stopUsersAPI()
                let login = try await auth.login(email)
                #expect(login.status == .serviceUnavailable)
                #expect(login.headers[.retryAfter] != nil)
                #expect(login.problemCode == "service_unavailable")
                let me = try await auth.bearer(.get, "/v1/users/me", token: token)
                #expect(me.status == .ok, "the session holds the profile since login")
                #expect(String(buffer: me.body) == String(buffer: before.body))
                try await harness.startUsersAPI()
                #expect(try await auth.login(email).status == .ok)
            }
        }
    }

    @Test func theSessionHoldsTheProfileUsersAPIReportedAtLogin() async throws {
        try await AuthAPIHarness.run { harness in
            let email = try await harness.account()
            try await harness.withAuthAPI { auth in
                let token = try await auth.token(email)
                let me = try #require(try await auth.bearer(.get, "/v1/users/me", token: token).json)
                let redis = RedisClient(configuration: try TestEnvironment.redisConfiguration(), logger: harness.logger)
                let stored = try #require(try await redis.send(RedisCommand("HGET", "registrar:session:\(sha256Hex(token))", "profile")).bytes)
                let held = try #require(try JSONSerialization.jsonObject(with: Data(stored.readableBytesView)) as? [String: Any])
                #expect(held["email"] as? String == email)
                let rows = try await harness.postgres.query(
                    "SELECT id, created_at, activated_at FROM users WHERE email = \(email)",
                    logger: harness.logger
                )
                for try await (id, created, activated) in rows.decode((UUID, Date, Date).self) {
                    #expect(me["id"] as? String == id.uuidString.lowercased())
                    #expect(me["created_at"] as? String == created.formatted(.iso8601), "as users-api reported it")
                    #expect(me["activated_at"] as? String == activated.formatted(.iso8601))
                }
                await redis.shutdown()
            }
        }
    }

    /// Sessions created before sessions held profiles (or from a users-api that did not report one).
    @Test func aSessionWithoutAProfileGetsItFromUsersAPIOnce() async throws {
        try await AuthAPIHarness.run { harness in
            let email = try await harness.account()
            try await harness.withAuthAPI { auth in
                let token = try await auth.token(email)
                let key = "registrar:session:\(sha256Hex(token))"
                let redis = RedisClient(configuration: try TestEnvironment.redisConfiguration(), logger: harness.logger)
                let expected = try #require(try await auth.bearer(.get, "/v1/users/me", token: token).json)

                _ = try await redis.send(RedisCommand("HDEL", key, "profile"))
                harness.stopUsersAPI()
                let down = try await auth.bearer(.get, "/v1/users/me", token: token)
                #expect(down.status == .serviceUnavailable, "nothing to answer with")
                #expect(down.headers[.retryAfter] != nil)
                #expect(try await redis.send(RedisCommand("HEXISTS", key, "profile")).int == 0)

                try await harness.startUsersAPI()
                let fetched = try await auth.bearer(.get, "/v1/users/me", token: token)
                #expect(fetched.status == .ok)
                #expect(fetched.json?["id"] as? String == expected["id"] as? String)
                #expect(fetched.json?["activated_at"] as? String == expected["activated_at"] as? String)
                #expect(try await redis.send(RedisCommand("HEXISTS", key, "profile")).int == 1, "kept for the next /me")

                _ = try await redis.send(RedisCommand("HDEL", key, "profile"))
                _ = try await harness.postgres.query("DELETE FROM users WHERE email = \(email)", logger: harness.logger)
                let gone = try await auth.bearer(.get, "/v1/users/me", token: token)
                #expect(gone.status == .unauthorized)
                #expect(gone.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
                #expect(try await redis.send(RedisCommand("EXISTS", key)).int == 0, "the session of a deleted account ends")
                await redis.shutdown()
            }
        }
    }
}
