import Common
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import TestSupport
import Testing

@Suite(.timeLimit(.minutes(2))) struct RegistrationTests {
    @Test func registeringAcceptsWithAndWithoutTrailingSlashAndQueuesACode() async throws {
        try await UsersAPIHarness.run { api in
            let email = UsersAPIHarness.uniqueEmail()
            let response = try await api.register(email, "s3cret-password")
            #expect(response.status == .accepted)
            #expect(try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: String] == ["status": "accepted"])
            let code = try #require(try await api.latestCode(email))
            #expect(code.count == 4 && code.allSatisfy(\.isNumber))
            #expect(try await api.userStatus(email) == "pending")

            let other = UsersAPIHarness.uniqueEmail()
            let slash = try await api.post("/v1/users/", json: UsersAPIHarness.json(["email": other, "password": "s3cret-password"]))
            #expect(slash.status == .accepted)
            #expect(try await api.userStatus(other) == "pending")
        }
    }

    @Test func emailsAreTrimmedAndCaseInsensitive() async throws {
        try await UsersAPIHarness.run(["RESEND_THROTTLE_SECONDS": "0"]) { api in
            let email = UsersAPIHarness.uniqueEmail()
            #expect(try await api.register("  " + email.uppercased() + " ", "s3cret-password").status == .accepted)
            #expect(try await api.count("SELECT count(*)::int FROM users WHERE email = '\(email)'") == 1)
            let code = try #require(try await api.latestCode(email))
            #expect(try await api.activate(email.uppercased(), "s3cret-password", code: code).status == .ok)
        }
    }

    @Test(arguments: [
        ("{\"email\": ", "malformed_body"),
        ("[1, 2]", "malformed_body"),
        ("\"text\"", "malformed_body"),
    ])
    func malformedBodiesAre400(body: String, code: String) async throws {
        try await UsersAPIHarness.run { api in
            let response = try await api.post("/v1/users", json: body)
            #expect(response.status == .badRequest)
            #expect(response.headers[.contentType] == "application/problem+json")
            #expect(response.problem?.code == code)
            #expect(try await api.count("SELECT count(*)::int FROM users") == 0)
        }
    }

    @Test(arguments: [
        ("{}", ["email", "password"]),
        ("{\"email\": 5, \"password\": \"s3cret-password\"}", ["email"]),
        ("{\"email\": \"me@example.com\", \"password\": null}", ["password"]),
        ("{\"email\": \"not-an-email\", \"password\": \"s3cret-password\"}", ["email"]),
        ("{\"email\": \"me@localhost\", \"password\": \"s3cret-password\"}", ["email"]),
        ("{\"email\": \"me@example.com\", \"password\": \"short\"}", ["password"]),
        ("{\"email\": \"me@example.com\", \"password\": true}", ["password"]),
    ])
    func invalidFieldsAre422NamingThem(body: String, fields: [String]) async throws {
        try await UsersAPIHarness.run { api in
            let response = try await api.post("/v1/users", json: body)
            #expect(response.status == .unprocessableContent)
            #expect(response.problem?.code == "validation_failed")
            #expect(response.problem?.errors?.map(\.field) == fields)
            #expect(try await api.count("SELECT count(*)::int FROM users") == 0)
            #expect(try await api.count("SELECT count(*)::int FROM outbox") == 0)
        }
    }

    @Test func overlongEmailAndPasswordAreRejectedNotTruncated() async throws {
        try await UsersAPIHarness.run { api in
            // An address of exactly `length` characters: 64-character local part, labels of at most 60.
            func address(length: Int) -> String {
                let labels = [String(repeating: "b", count: 60), String(repeating: "c", count: 60), String(repeating: "d", count: 60)]
                let domain = labels.joined(separator: ".") + "." + String(repeating: "e", count: length - 65 - 182 - 1)
                return String(repeating: "a", count: 64) + "@" + domain
            }
            #expect(address(length: 254).count == 254)
            #expect(try await api.register(address(length: 254), "s3cret-password").status == .accepted)
            let email = try await api.register(address(length: 255), "s3cret-password")
            #expect(email.status == .unprocessableContent)
            #expect(email.problem?.errors?.first?.field == "email")

            let password73 = String(repeating: "p", count: 73)
            let password = try await api.register(UsersAPIHarness.uniqueEmail(), password73)
            #expect(password.status == .unprocessableContent)
            #expect(password.problem?.errors?.first?.field == "password")
            #expect(password.problem?.errors?.first?.message.contains("72 bytes") == true)

            // 72 bytes of UTF-8 in fewer characters is fine; one more multi-byte character is not.
            let twoByte = String(repeating: "é", count: 36)
            #expect(try await api.register(UsersAPIHarness.uniqueEmail(), twoByte).status == .accepted)
            #expect(try await api.register(UsersAPIHarness.uniqueEmail(), twoByte + "é").status == .unprocessableContent)
            #expect(try await api.register(UsersAPIHarness.uniqueEmail(), "nul\u{0}password").status == .unprocessableContent)
        }
    }

    @Test func oversizedAndNonJSONBodiesAreRefused() async throws {
        try await UsersAPIHarness.run { api in
            let huge = "{\"email\": \"" + String(repeating: "a", count: 70_000) + "\", \"password\": \"x\"}"
            let response = try await api.post("/v1/users", json: huge)
            #expect(response.status == .contentTooLarge)
            #expect(response.problem?.code == "body_too_large")
            let form = try await api.post("/v1/users", json: "email=a", headers: [.contentType: "application/x-www-form-urlencoded"])
            #expect(form.status == .unsupportedMediaType)
            #expect(try await api.count("SELECT count(*)::int FROM users") == 0)
        }
    }

    @Test func registeringAgainInsideTheThrottleIs429WithRetryAfter() async throws {
        try await UsersAPIHarness.run(["RESEND_THROTTLE_SECONDS": "60"]) { api in
            let email = UsersAPIHarness.uniqueEmail()
            #expect(try await api.register(email, "s3cret-password").status == .accepted)
            let again = try await api.register(email.uppercased(), "s3cret-password")
            #expect(again.status == .tooManyRequests)
            #expect(again.problem?.code == "registration_throttled")
            let retryAfter = try #require(again.headers[.retryAfter].flatMap(Int.init))
            #expect((55...60).contains(retryAfter))
            #expect(try await api.count("SELECT count(*)::int FROM outbox WHERE payload->>'to' = '\(email)'") == 1)
        }
    }

    @Test func reRegisteringAnActiveAccountAcceptsButChangesNothing() async throws {
        try await UsersAPIHarness.run(["RESEND_THROTTLE_SECONDS": "0"]) { api in
            let email = UsersAPIHarness.uniqueEmail()
            #expect(try await api.register(email, "original-password").status == .accepted)
            let code = try #require(try await api.latestCode(email))
            #expect(try await api.activate(email, "original-password", code: code).status == .ok)

            let again = try await api.register(email, "attacker-password")
            #expect(again.status == .accepted, "no enumeration: same answer as for a new address")
            #expect(try await api.userStatus(email) == "active")
            #expect(try await api.latestCode(email) == code, "no new code for an active account")
            #expect(
                try await api.count(
                    "SELECT count(*)::int FROM outbox WHERE topic = 'user.already_registered' AND payload->>'to' = '\(email)'"
                ) == 1
            )
            // The password is unchanged: the old one still authenticates, the new one does not.
            #expect(try await api.verify(email, "original-password").status == .ok)
            #expect(try await api.verify(email, "attacker-password").status == .unauthorized)
        }
    }

    /// Each code activates with the password it was issued with (see also AbuseTests).
    @Test func reRegisteringAPendingAccountIssuesACodeForTheNewPassword() async throws {
        try await UsersAPIHarness.run(["RESEND_THROTTLE_SECONDS": "0"]) { api in
            let email = UsersAPIHarness.uniqueEmail()
            #expect(try await api.register(email, "first-password").status == .accepted)
            let first = try #require(try await api.latestCode(email))
            #expect(try await api.register(email, "second-password").status == .accepted)
            let second = try #require(try await api.latestCode(email))
            #expect(try await api.count("SELECT count(*)::int FROM users WHERE email = '\(email)'") == 1)
            #expect(try await api.activate(email, "second-password", code: first).status == .unauthorized, "the first code is the first password's")
            #expect(try await api.activate(email, "first-password", code: second).status == .unauthorized, "the second code is the second's")
            #expect(try await api.activate(email, "second-password", code: second).status == .ok)
        }
    }

    @Test func redisDownMeans503AndNoUserWithoutAVerifiableCode() async throws {
        let redis = try RedisServerProcess()
        try await UsersAPIHarness.run(redisURL: "redis://127.0.0.1:\(redis.port)/0") { api in
            redis.stop()
            let email = UsersAPIHarness.uniqueEmail()
            let response = try await api.register(email, "s3cret-password")
            #expect(response.status == .serviceUnavailable)
            #expect(response.headers[.retryAfter] != nil)
            #expect(response.problem?.code == "service_unavailable")
            #expect(try await api.userStatus(email) == nil)
            #expect(try await api.count("SELECT count(*)::int FROM outbox") == 0)

            try redis.start()
            var status = HTTPResponse.Status.serviceUnavailable
            for _ in 0..<60 where status == .serviceUnavailable {
                status = try await api.register(email, "s3cret-password").status
                if status == .serviceUnavailable { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(status == .accepted, "registrations recover once Redis is back")
            #expect(try await api.latestCode(email) != nil)
        }
    }
}
