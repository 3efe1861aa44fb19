import Common
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import TestSupport
import Testing

@Suite(.timeLimit(.minutes(2))) struct ActivationTests {
    let password = "pass:with:colons"

    /// Registers a fresh address and returns it with its code.
    func registered(_ api: UsersAPIHarness) async throws -> (String, String) {
        let email = UsersAPIHarness.uniqueEmail()
        #expect(try await api.register(email, self.password).status == .accepted)
        return (email, try #require(try await api.latestCode(email)))
    }

    func wrongCode(_ code: String) -> String {
        String(format: "%04d", (Int(code)! + 1) % 10000)
    }

    @Test func theRightCodeActivatesOnceAndIsConsumed() async throws {
        try await UsersAPIHarness.run { api in
            let (email, code) = try await self.registered(api)
            let response = try await api.activate(email, self.password, code: code)
            #expect(response.status == .ok)
            #expect(try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: String] == ["status": "ok"])
            #expect(try await api.userStatus(email) == "active")
            #expect(try await api.count("SELECT count(*)::int FROM users WHERE status = 'active' AND activated_at IS NOT NULL") == 1)
            let again = try await api.activate(email, self.password, code: code)
            #expect(again.status == .conflict)
            #expect(again.problem?.code == "user_already_active")
            let wrong = try await api.activate(email, self.password, code: self.wrongCode(code))
            #expect(wrong.status == .conflict, "an active user gets 409 whatever the code")
        }
    }

    @Test func wrongAndExpiredCodesAre400() async throws {
        try await UsersAPIHarness.run(["CODE_TTL_SECONDS": "1"]) { api in
            let (email, code) = try await self.registered(api)
            let wrong = try await api.activate(email, self.password, code: self.wrongCode(code))
            #expect(wrong.status == .badRequest)
            #expect(wrong.problem?.code == "invalid_activation_code")
            try await Task.sleep(for: .milliseconds(1300))
            let expired = try await api.activate(email, self.password, code: code)
            #expect(expired.status == .badRequest)
            #expect(expired.problem?.code == "invalid_activation_code")
            #expect(try await api.userStatus(email) == "pending")
        }
    }

    @Test(arguments: ["{\"code\": \"12a4\"}", "{\"code\": \"123\"}", "{\"code\": \"12345\"}", "{\"code\": 1234}", "{}", ""])
    func malformedCodesAre422(body: String) async throws {
        try await UsersAPIHarness.run { api in
            let (email, _) = try await self.registered(api)
            let response = try await api.post(
                "/v1/users/activate",
                json: body.isEmpty ? nil : body,
                headers: UsersAPIHarness.basic(email, self.password)
            )
            #expect(response.status == .unprocessableContent)
            #expect(response.problem?.errors?.map(\.field) == ["code"])
        }
    }

    @Test func unicodeDigitsAreNotACode() async throws {
        try await UsersAPIHarness.run { api in
            let (email, _) = try await self.registered(api)
            #expect(try await api.activate(email, self.password, code: "١٢٣٤").status == .unprocessableContent)
        }
    }

    @Test(arguments: [
        HTTPFields(),
        [.authorization: "Bearer abc"],
        [.authorization: "Basic !!!notbase64"],
        [.authorization: "Basic " + Data("no-colon".utf8).base64EncodedString()],
        [.authorization: "Basic " + Data([0xFF, 0xFE, 0x3A, 0x41]).base64EncodedString()],
        [.authorization: "Basic"],
    ])
    func brokenBasicHeadersAre401WithAChallenge(headers: HTTPFields) async throws {
        try await UsersAPIHarness.run { api in
            let response = try await api.post("/v1/users/activate", json: "{\"code\":\"1234\"}", headers: headers)
            #expect(response.status == .unauthorized)
            #expect(response.headers[.wwwAuthenticate]?.hasPrefix("Basic") == true)
            #expect(response.headers[.contentType] == "application/problem+json")
        }
    }

    @Test func unknownEmailAndWrongPasswordGetTheSame401() async throws {
        try await UsersAPIHarness.run { api in
            let (email, code) = try await self.registered(api)
            let unknown = try await api.activate(UsersAPIHarness.uniqueEmail("ghost"), self.password, code: code)
            let wrong = try await api.activate(email, "wrong-password", code: code)
            let overlong = try await api.activate(email, self.password + String(repeating: "x", count: 80), code: code)
            for response in [unknown, wrong, overlong] {
                #expect(response.status == .unauthorized)
                #expect(response.headers[.wwwAuthenticate]?.hasPrefix("Basic") == true)
                #expect(response.problem?.code == "invalid_credentials")
            }
            #expect(unknown.text == wrong.text, "identical bodies: no account enumeration")
            #expect(try await api.userStatus(email) == "pending")
        }
    }

    @Test func aCodeBurnsAfterCodeAttemptsWrongTries() async throws {
        try await UsersAPIHarness.run(["CODE_ATTEMPTS": "3"]) { api in
            let (email, code) = try await self.registered(api)
            let wrong = self.wrongCode(code)
            #expect(try await api.activate(email, self.password, code: wrong).status == .badRequest)
            #expect(try await api.activate(email, self.password, code: wrong).status == .badRequest)
            let burned = try await api.activate(email, self.password, code: wrong)
            #expect(burned.status == .tooManyRequests)
            #expect(burned.problem?.code == "too_many_attempts")
            #expect(burned.problem?.detail?.contains("request a new code") == true)
            let right = try await api.activate(email, self.password, code: code)
            #expect(right.status == .tooManyRequests, "even the right code fails once burned")
            #expect(right.problem?.code == "too_many_attempts")
            #expect(try await api.userStatus(email) == "pending")
        }
    }

    @Test func theAccountFailureBudgetSurvivesResends() async throws {
        let overrides = ["CODE_ATTEMPTS": "2", "ACTIVATION_MAX_FAILURES": "3", "RESEND_THROTTLE_SECONDS": "0"]
        try await UsersAPIHarness.run(overrides) { api in
            let (email, first) = try await self.registered(api)
            #expect(try await api.activate(email, self.password, code: self.wrongCode(first)).status == .badRequest)
            #expect(try await api.activate(email, self.password, code: self.wrongCode(first)).status == .tooManyRequests)
            let resend = try await api.post("/v1/users/activate/resend", headers: UsersAPIHarness.basic(email, self.password))
            #expect(resend.status == .accepted)
            let second = try #require(try await api.latestCode(email))
            #expect(try await api.activate(email, self.password, code: self.wrongCode(second)).status == .badRequest)
            // Three failures spent: the budget refuses even the right code, with Retry-After.
            let refused = try await api.activate(email, self.password, code: second)
            #expect(refused.status == .tooManyRequests)
            #expect(refused.problem?.code == "too_many_failures")
            let retryAfter = try #require(refused.headers[.retryAfter].flatMap(Int.init))
            #expect(retryAfter > 80_000 && retryAfter <= 86_400)
            #expect(try await api.post("/v1/users/activate/resend", headers: UsersAPIHarness.basic(email, self.password)).status == .accepted)
            let third = try #require(try await api.latestCode(email))
            #expect(try await api.activate(email, self.password, code: third).status == .tooManyRequests, "resends do not reset it")
            #expect(try await api.userStatus(email) == "pending")
        }
    }

    @Test func resendReplacesTheCodeAndIsThrottled() async throws {
        // A throttle long enough for a loaded machine to resend inside it (the whole suite runs in
        // parallel on two cores); the test then waits for exactly what Retry-After says.
        try await UsersAPIHarness.run(["RESEND_THROTTLE_SECONDS": "12"]) { api in
            let (email, first) = try await self.registered(api)
            let basic = UsersAPIHarness.basic(email, self.password)
            let early = try await api.post("/v1/users/activate/resend", headers: basic)
            #expect(early.status == .tooManyRequests)
            #expect(early.problem?.code == "resend_throttled")
            let retryAfter = try #require(Int(early.headers[.retryAfter] ?? ""))
            #expect((1...12).contains(retryAfter))
            try await Task.sleep(for: .milliseconds(retryAfter * 1000 + 200))
            #expect(try await api.post("/v1/users/activate/resend", headers: basic).status == .accepted)
            let second = try #require(try await api.latestCode(email))
            #expect(try await api.count("SELECT count(*)::int FROM outbox WHERE payload->>'to' = '\(email)'") == 2)
            if second != first {
                #expect(try await api.activate(email, self.password, code: first).status == .badRequest, "the old code no longer works")
            }
            #expect(try await api.activate(email, self.password, code: second).status == .ok)
            // Active: 409 comes before the throttle.
            let active = try await api.post("/v1/users/activate/resend", headers: basic)
            #expect(active.status == .conflict)
            #expect(active.problem?.code == "user_already_active")
            #expect(try await api.post("/v1/users/activate/resend", headers: UsersAPIHarness.basic(email, "wrong")).status == .unauthorized)
        }
    }

    /// Parallel attempts are reserved in the credential budget before bcrypt (LOGIN_MAX_FAILURES,
    /// 10, per account and client): past ten in flight at once, the rest are 429.
    @Test func sixteenParallelActivationsWithTheRightCodeYieldExactlyOne200() async throws {
        try await UsersAPIHarness.run { api in
            let (email, code) = try await self.registered(api)
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for _ in 0..<16 { group.addTask { try await api.activate(email, self.password, code: code).status } }
                var statuses: [HTTPResponse.Status] = []
                for try await status in group { statuses.append(status) }
                return statuses
            }
            #expect(statuses.filter { $0 == .ok }.count == 1)
            #expect(statuses.allSatisfy { [.ok, .badRequest, .conflict, .tooManyRequests].contains($0) })
            #expect(try await api.userStatus(email) == "active")
        }
    }
}
