import Common
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import PostgresNIO
import TestSupport
import Testing

/// What one hostile client can no longer do (issue 11): guess passwords through any route, race
/// the budget, lock owners out, take over a pending address, or flood registrations and mail.
@Suite(.timeLimit(.minutes(3))) struct AbuseTests {
    let password = "owner-password"

    func activeAccount(_ api: UsersAPIHarness, client: String? = nil) async throws -> String {
        let email = UsersAPIHarness.uniqueEmail("owner")
        #expect(try await api.register(email, self.password, client: client).status == .accepted)
        let code = try #require(try await api.latestCode(email))
        #expect(try await api.activate(email, self.password, code: code).status == .ok)
        return email
    }

    /// Activation and resend were unthrottled password oracles: now every route that checks a
    /// password spends one budget, and over it answers 429 before revealing the account's state.
    @Test func everyPasswordRouteSharesOneBudget() async throws {
        try await UsersAPIHarness.run { api in
            let email = try await self.activeAccount(api)
            let client = "203.0.113.9"
            for index in 0..<4 { #expect(try await api.verify(email, "wrong-\(index)", client: client).status == .unauthorized) }
            for index in 0..<3 { #expect(try await api.activate(email, "wrong-a\(index)", code: "0000").status == .unauthorized) }
            for index in 0..<3 { #expect(try await api.resend(email, "wrong-r\(index)").status == .unauthorized) }
            // Router tests have no peer: activate/resend were charged to "unknown", login to its
            // own client_address. The (account, client) pairs are separate budgets; the account
            // has 10 failures from two clients now. Spend "unknown"'s pair (6) to the limit:
            for index in 0..<4 { #expect(try await api.activate(email, "wrong-b\(index)", code: "0000").status == .unauthorized) }
            let refused = try await api.activate(email, self.password, code: "0000")
            #expect(refused.status == .tooManyRequests, "the right password gets 429, never 409: nothing is revealed")
            #expect(refused.problem?.code == "too_many_login_failures")
            #expect(Int(refused.headers[.retryAfter] ?? "") ?? 0 > 0)
            #expect(try await api.resend(email, self.password).status == .tooManyRequests)
            // An unknown address answers the same.
            let unknown = UsersAPIHarness.uniqueEmail("nobody")
            for index in 0..<10 { #expect(try await api.activate(unknown, "wrong-\(index)", code: "0000").status == .unauthorized) }
            let unknownRefused = try await api.activate(unknown, self.password, code: "0000")
            #expect(unknownRefused.status == refused.status && unknownRefused.problem == refused.problem)
            // The login client spent 4: six more, then it is refused too; another client is not.
            for index in 0..<6 { #expect(try await api.verify(email, "wrong-l\(index)", client: client).status == .unauthorized) }
            #expect(try await api.verify(email, self.password, client: client).status == .tooManyRequests)
            #expect(try await api.verify(email, self.password, client: "198.51.100.4").status == .ok)
        }
    }

    /// The attempt is reserved before bcrypt: 8 parallel wrong passwords after 9 failures give
    /// exactly one 401, never 17 checked passwords.
    @Test func theBudgetCannotBeRaced() async throws {
        try await UsersAPIHarness.run { api in
            let email = try await self.activeAccount(api)
            let client = "203.0.113.77"
            for index in 0..<9 { #expect(try await api.verify(email, "wrong-\(index)", client: client).status == .unauthorized) }
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for index in 0..<8 { group.addTask { try await api.verify(email, "parallel-\(index)", client: client).status } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == .unauthorized }.count == 1, "\(statuses)")
            #expect(statuses.filter { $0 == .tooManyRequests }.count == 7, "\(statuses)")
        }
    }

    /// Ten wrong passwords from one client do not lock the owner out elsewhere; the account-wide
    /// limit stops many clients, but not one that signed in before.
    @Test func strangersCannotLockTheOwnerOut() async throws {
        try await UsersAPIHarness.run(["ACCOUNT_MAX_FAILURES": "20"]) { api in
            let email = try await self.activeAccount(api)
            #expect(try await api.verify(email, self.password, client: "198.51.100.1").status == .ok, "the owner's usual client")
            for index in 0..<10 { #expect(try await api.verify(email, "wrong-\(index)", client: "192.0.2.1").status == .unauthorized) }
            #expect(try await api.verify(email, self.password, client: "192.0.2.1").status == .tooManyRequests)
            #expect(try await api.verify(email, self.password, client: "198.51.100.2").status == .ok, "from another client")
            for index in 0..<10 { #expect(try await api.verify(email, "wrong-\(index)", client: "192.0.2.2").status == .unauthorized) }
            // 20 failures: the account-wide limit is spent for clients the account does not know…
            #expect(try await api.verify(email, self.password, client: "198.51.100.3").status == .tooManyRequests)
            // … but not for those that proved the password before.
            #expect(try await api.verify(email, self.password, client: "198.51.100.1").status == .ok)
            #expect(try await api.verify(email, self.password, client: "198.51.100.2").status == .ok)
        }
    }

    /// Budget keys hold digests: neither the email nor a 5,000-character username reaches Redis.
    @Test func budgetKeysHoldDigestsNeverRawInput() async throws {
        try await UsersAPIHarness.run { api in
            let marker = "digest-\(UUID().uuidString.prefix(8).lowercased())"
            let huge = marker + String(repeating: "x", count: 5000) + "@example.com"
            #expect(try await api.verify(huge, "whatever-password").status == .unauthorized)
            #expect(try await api.register("\(marker)@example.com", "s3cret-password").status == .accepted)
            #expect(try await api.activate("\(marker)@example.com", "wrong-password", code: "0000").status == .unauthorized)
            let redis = RedisClient(configuration: try TestEnvironment.redisConfiguration(), logger: api.logger)
            let names = try await redis.send(RedisCommand("KEYS", "registrar:*")).array?.compactMap(\.string) ?? []
            await redis.shutdown()
            #expect(!names.isEmpty)
            #expect(!names.contains { $0.contains(marker) }, "no key carries the raw address")
            #expect(names.allSatisfy { $0.utf8.count < 200 })
        }
    }

    /// Registering a pending address again never changes the password its owner knows: the new
    /// one travels with the new code and takes effect only when that code activates it.
    @Test func reRegisteringAPendingAddressKeepsTheOwnersCredentials() async throws {
        try await UsersAPIHarness.run(["RESEND_THROTTLE_SECONDS": "0"]) { api in
            let email = UsersAPIHarness.uniqueEmail("pending")
            #expect(try await api.register(email, "owner-password").status == .accepted)
            let ownerCode = try #require(try await api.latestCode(email))
            #expect(try await api.register(email, "stranger-password").status == .accepted, "the same answer")
            let strangerCode = try #require(try await api.latestCode(email))
            #expect(try await api.verify(email, "stranger-password").status == .unauthorized, "the stored password did not change")
            #expect(try await api.activate(email, "stranger-password", code: ownerCode).status == .unauthorized)
            #expect(try await api.activate(email, "owner-password", code: ownerCode).status == .ok, "the owner's code and password work")
            #expect(try await api.verify(email, "owner-password").status == .ok)
            #expect(try await api.verify(email, "stranger-password").status == .unauthorized)
            _ = strangerCode

            // The other way: whoever re-registered (the owner who forgot a password) activates
            // with the new password and the new code; the old password is gone.
            let other = UsersAPIHarness.uniqueEmail("forgot")
            #expect(try await api.register(other, "first-password").status == .accepted)
            #expect(try await api.register(other, "second-password").status == .accepted)
            let second = try #require(try await api.latestCode(other))
            #expect(try await api.activate(other, "second-password", code: second).status == .ok)
            #expect(try await api.verify(other, "second-password").status == .ok)
            #expect(try await api.verify(other, "first-password").status == .unauthorized)
        }
    }

    /// Registrations per client address: identical 429s once spent, whatever the address is.
    @Test func registrationsPerClientAreLimited() async throws {
        try await UsersAPIHarness.run(["REGISTRATION_MAX_PER_ADDRESS": "3", "RESEND_THROTTLE_SECONDS": "0"], live: true) { api in
            let client = UsersAPIHarness.randomClient()
            // From a client of its own: 127.0.0.1's budget is shared with every live suite that
            // registers from this process (and with REGISTRATION_MAX_PER_ADDRESS = 3 runs out).
            let active = try await self.activeAccount(api, client: UsersAPIHarness.randomClient())
            for index in 0..<3 {
                #expect(try await api.register(UsersAPIHarness.uniqueEmail("burst\(index)"), "s3cret-password", client: client).status == .accepted)
            }
            var answers: [String] = []
            for email in [UsersAPIHarness.uniqueEmail("new"), active] {
                let refused = try await api.register(email, "s3cret-password", client: client)
                #expect(refused.status == .tooManyRequests)
                #expect(refused.problem?.code == "too_many_registrations")
                #expect(Int(refused.headers[.retryAfter] ?? "") ?? 0 > 3000)
                answers.append(refused.text)
            }
            #expect(answers[0] == answers[1], "new and active addresses are refused alike")
            #expect(
                try await api.register(UsersAPIHarness.uniqueEmail(), "s3cret-password", client: UsersAPIHarness.randomClient()).status == .accepted
            )
        }
    }

    /// Mails per recipient per day, whatever the account's state; and the global cap.
    @Test func mailPerRecipientAndGlobalCaps() async throws {
        try await UsersAPIHarness.run(["MAIL_MAX_PER_RECIPIENT_PER_DAY": "2", "RESEND_THROTTLE_SECONDS": "0"]) { api in
            let active = try await self.activeAccount(api)  // one mail so far: its code
            let pending = UsersAPIHarness.uniqueEmail("pending")
            let new = UsersAPIHarness.uniqueEmail("new")
            #expect(try await api.register(active, "s3cret-password").status == .accepted, "the second mail: a notice")
            for _ in 0..<2 { #expect(try await api.register(pending, "s3cret-password").status == .accepted) }
            var answers: [String] = []
            for email in [active, pending] {
                let refused = try await api.register(email, "s3cret-password")
                #expect(refused.status == .tooManyRequests)
                #expect(refused.problem?.code == "mail_limit_reached")
                #expect(Int(refused.headers[.retryAfter] ?? "") ?? 0 > 80000)
                answers.append(refused.text)
            }
            #expect(answers[0] == answers[1])
            #expect(try await api.count("SELECT count(*)::int FROM outbox WHERE payload->>'to' = '\(pending)'") == 2)
            #expect(try await api.register(new, "s3cret-password").status == .accepted)
        }
        // The global counter is shared by every test on the shared Redis: this one gets its own.
        let server = try RedisServerProcess()
        defer { server.stop() }
        try await UsersAPIHarness.run(["MAIL_MAX_PER_MINUTE": "2", "RESEND_THROTTLE_SECONDS": "0"], redisURL: "redis://127.0.0.1:\(server.port)/0") {
            api in
            for _ in 0..<2 { #expect(try await api.register(UsersAPIHarness.uniqueEmail(), "s3cret-password").status == .accepted) }
            let refused = try await api.register(UsersAPIHarness.uniqueEmail(), "s3cret-password")
            #expect(refused.status == .serviceUnavailable)
            #expect(refused.problem?.code == "mail_capacity_reached")
            #expect(refused.headers[.retryAfter] != nil)
        }
    }
}
