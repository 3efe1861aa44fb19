import Common
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import PostgresNIO
import TestSupport
import Testing

@testable import UsersAPI

/// users-api's side of the account lifecycle with a real Postgres and Redis: what the forgot and
/// reset routes write, expiry, and deletion (the end-to-end flows through the edge are
/// scripts/account.py).
@Suite(.timeLimit(.minutes(2))) struct AccountLifecycleTests {
    let password = "s3cret-password"

    /// A registered account, activated in Postgres directly (a test with `CODE_TTL_SECONDS=1` on a
    /// loaded machine cannot count on activating through the API in time).
    func activeAccount(_ api: UsersAPIHarness, tag: String = "reset") async throws -> String {
        let email = UsersAPIHarness.uniqueEmail(tag)
        #expect(try await api.register(email, self.password).status == .accepted)
        try await api.postgres.query(
            "UPDATE users SET status = 'active', activated_at = now() WHERE email = \(email)",
            logger: api.logger
        )
        return email
    }

    func forgot(_ api: UsersAPIHarness, _ email: String) async throws -> TestResponse {
        try await api.post("/v1/users/password/forgot", json: UsersAPIHarness.json(["email": email]))
    }

    /// The code of the newest reset mail to `email`.
    func resetCode(_ api: UsersAPIHarness, _ email: String) async throws -> String? {
        let rows = try await api.postgres.query(
            """
            SELECT payload->'data'->>'code' FROM outbox
            WHERE topic = \(OutboxTopic.passwordResetCode) AND payload->>'to' = \(email) ORDER BY id DESC LIMIT 1
            """,
            logger: api.logger
        )
        for try await code in rows.decode(String?.self) { return code }
        return nil
    }

    @Test func forgotWritesTheSameRowForEveryAddressAndOnlyAnActiveOneIsSent() async throws {
        try await UsersAPIHarness.run(["RESEND_THROTTLE_SECONDS": "0"]) { api in
            let active = try await self.activeAccount(api)
            let pending = UsersAPIHarness.uniqueEmail("pending")
            #expect(try await api.register(pending, self.password).status == .accepted)
            let unknown = UsersAPIHarness.uniqueEmail("unknown")
            let before = try await api.count("SELECT count(*)::int FROM outbox WHERE topic = '\(OutboxTopic.passwordResetCode)'")
            for email in [active, pending, unknown] {
                let answer = try await self.forgot(api, email)
                #expect(answer.status == .accepted && answer.body == ByteBuffer(string: #"{"status":"accepted"}"#), "\(email)")
            }
            let statuses = try await api.postgres.query(
                """
                SELECT status, payload->>'to', expires_at IS NOT NULL FROM outbox
                WHERE topic = \(OutboxTopic.passwordResetCode) ORDER BY id DESC LIMIT 3
                """,
                logger: api.logger
            )
            var rows: [(String, String, Bool)] = []
            for try await row in statuses.decode((String, String, Bool).self) { rows.append(row) }
            #expect(try await api.count("SELECT count(*)::int FROM outbox WHERE topic = '\(OutboxTopic.passwordResetCode)'") == before + 3)
            #expect(rows.map(\.0).sorted() == ["cancelled", "cancelled", "pending"], "one row per address, only the active one sent")
            #expect(rows.filter { $0.0 == "pending" }.map(\.1) == [active])
            #expect(rows.filter { $0.0 == "cancelled" }.allSatisfy { $0.1 == "" }, "no address kept for the others")
            #expect(rows.allSatisfy { $0.2 }, "every row expires with the code")
        }
    }

    /// A write checked against a state that changed since does nothing (a change racing a reset).
    @Test func aPasswordWriteAgainstAStaleReadChangesNothing() async throws {
        try await UsersAPIHarness.run(["RESEND_THROTTLE_SECONDS": "0"]) { api in
            let email = try await self.activeAccount(api, tag: "stale")
            let store = UserStore(client: api.postgres, timeout: .seconds(5), logger: api.logger)
            let stale = try #require(try await store.find(email: email))
            #expect(try await self.forgot(api, email).status == .accepted)
            let code = try #require(try await self.resetCode(api, email))
            let reset = UsersAPIHarness.json(["email": email, "code": code, "password": "the-owners-new-password"])
            #expect(try await api.post("/v1/users/password/reset", json: reset).status == .ok)
            let written = try await store.transaction(logger: api.logger, outboxKey: UUID()) { connection -> Bool in
                let changed = try await store.setPassword(of: stale, to: "$2b$04$notARealHashButNeverWritten.........", on: connection)
                return changed != nil
            }
            #expect(!written, "the reset committed first: the stale change does nothing")
            #expect(try await api.verify(email, "the-owners-new-password").status == .ok)
        }
    }

    /// Strangers' wrong codes spend the address's failure budget, but the next code mailed starts
    /// it again: they cannot lock the owner out of resetting.
    @Test func wrongResetCodesCannotLockTheOwnerOut() async throws {
        try await UsersAPIHarness.run(["RESEND_THROTTLE_SECONDS": "0", "ACTIVATION_MAX_FAILURES": "3", "CODE_ATTEMPTS": "100"]) { api in
            let email = try await self.activeAccount(api, tag: "lockout")
            func reset(_ code: String) async throws -> TestResponse {
                try await api.post(
                    "/v1/users/password/reset",
                    json: UsersAPIHarness.json(["email": email, "code": code, "password": "the-owners-new-password"])
                )
            }
            #expect(try await self.forgot(api, email).status == .accepted)
            let first = try #require(try await self.resetCode(api, email))
            let wrong = String(format: "%08d", (Int(first)! + 1) % 100_000_000)
            for _ in 0..<3 { #expect(try await reset(wrong).status == .badRequest) }
            let spent = try await reset(first)
            #expect(spent.status == .tooManyRequests && spent.problem?.code == "too_many_failures", "the budget is spent: even the right code")
            #expect(try await self.forgot(api, email).status == .accepted)
            let second = try #require(try await self.resetCode(api, email))
            #expect(try await reset(second).status == .ok, "a new code, a new budget")
            #expect(try await api.verify(email, "the-owners-new-password").status == .ok)
        }
    }

    @Test func aResetCodeExpiresWithCodeTTL() async throws {
        try await UsersAPIHarness.run(["CODE_TTL_SECONDS": "1"]) { api in
            let email = try await self.activeAccount(api)
            #expect(try await self.forgot(api, email).status == .accepted)
            let code = try #require(try await self.resetCode(api, email))
            try await Task.sleep(for: .milliseconds(1300))
            let late = try await api.post(
                "/v1/users/password/reset",
                json: UsersAPIHarness.json(["email": email, "code": code, "password": "brand-new-password"])
            )
            #expect(late.status == .badRequest && late.problem?.code == "invalid_reset_code")
            #expect(try await api.verify(email, self.password).status == .ok, "the password did not change")
        }
    }

    @Test func deletionCancelsUnsentMailAndForgetsTheCodes() async throws {
        try await UsersAPIHarness.run(["RESEND_THROTTLE_SECONDS": "0"]) { api in
            let email = try await self.activeAccount(api, tag: "delete")
            #expect(try await self.forgot(api, email).status == .accepted)  // a reset mail, unsent (no mailer here)
            let verified = try await api.verify(email, self.password)
            let id = try #require((try JSONSerialization.jsonObject(with: Data(verified.body.readableBytesView)) as? [String: Any])?["id"] as? String)
            let redis = RedisClient(configuration: try TestEnvironment.redisConfiguration(), logger: api.logger)
            #expect(try await redis.send(RedisCommand("EXISTS", "registrar:password-reset:code:\(LimitKey.account(email))")).int == 1)

            let path = "/internal/v1/users/\(id)"
            var headers: HTTPFields = [.authorization: "Bearer \(UsersAPIHarness.internalToken)", .contentType: "application/json"]
            let wrong = try await api.client.execute(
                uri: path,
                method: .delete,
                headers: headers,
                body: ByteBuffer(string: UsersAPIHarness.json(["password": "not-the-password", "client_address": "203.0.113.9"]))
            )
            #expect(wrong.status == .forbidden && wrong.problem?.code == "invalid_password")
            headers[.acceptLanguage] = "fr"
            let deleted = try await api.client.execute(
                uri: path,
                method: .delete,
                headers: headers,
                body: ByteBuffer(string: UsersAPIHarness.json(["password": self.password, "client_address": "203.0.113.9"]))
            )
            #expect(deleted.status == .noContent)
            #expect(try await api.userStatus(email) == nil)
            #expect(
                try await api.count(
                    "SELECT count(*)::int FROM outbox WHERE payload->>'to' = '\(email)' AND status IN ('pending', 'processing') AND topic <> '\(OutboxTopic.accountDeleted)'"
                ) == 0,
                "unsent mail cancelled"
            )
            #expect(try await api.count("SELECT count(*)::int FROM outbox WHERE payload->>'to' = '\(email)' AND status = 'cancelled'") >= 1)
            #expect(try await api.count("SELECT count(*)::int FROM outbox WHERE topic = '\(OutboxTopic.accountDeleted)' AND language = 'fr'") >= 1)
            #expect(try await redis.send(RedisCommand("EXISTS", "registrar:password-reset:code:\(LimitKey.account(email))")).int == 0)
            #expect(try await redis.send(RedisCommand("GET", "registrar:security-stamp:\(id)")).string?.hasSuffix(":deleted") == true)
            #expect(try await api.register(email, "another-password").status == .accepted, "the address registers again")
            await redis.shutdown()
        }
    }
}
