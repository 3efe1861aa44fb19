import Common
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import PostgresNIO
import TestSupport
import Testing

/// users-api as the provider of two contracts: its internal API (replayed from the fixtures) and
/// the outbox rows it writes.
@Suite(.timeLimit(.minutes(3))) struct ContractProviderTests {
    @Test(arguments: try Contracts.load("internal-api/v1").map(\.name))
    func internalAPIHonoursTheFixture(name: String) async throws {
        try await UsersAPIHarness.run(["RESEND_THROTTLE_SECONDS": "0"]) { api in
            let fixture = try Contracts.fixture("internal-api/v1/\(name)")
            let given = try #require(fixture["given"] as? [String: String])
            let request = try #require(fixture["request"] as? [String: Any])
            let expected = try #require(fixture["response"] as? [String: Any])
            var userID: String?
            if let email = given["email"], let password = given["password"], given["status"] != "none" {
                #expect(try await api.register(email, password).status == .accepted)
                if given["status"] == "active" {
                    let code = try #require(try await api.latestCode(email))
                    #expect(try await api.activate(email, password, code: code).status == .ok)
                }
                let rows = try await api.postgres.query("SELECT id::text FROM users WHERE email = \(email)", logger: api.logger)
                for try await id in rows.decode(String.self) { userID = id }
            }
            var path = try #require(request["path"] as? String)
            if let userID { path = path.replacingOccurrences(of: "{id}", with: userID) }
            var headers = HTTPFields()
            if request["authorized"] as? Bool == true { headers[.authorization] = "Bearer \(UsersAPIHarness.internalToken)" }
            var body: ByteBuffer?
            if let json = request["body"] {
                headers[.contentType] = "application/json"
                body = ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json))
            }
            let method = HTTPRequest.Method(try #require(request["method"] as? String))!
            // `failures`: that many wrong passwords from the request's client first (the budget).
            if let failures = given["failures"].flatMap(Int.init), var wrong = request["body"] as? [String: Any] {
                wrong["password"] = "not-the-password"
                let bytes = ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: wrong))
                for _ in 0..<failures {
                    #expect(try await api.client.execute(uri: path, method: method, headers: headers, body: bytes).status == .unauthorized)
                }
            }
            let response = try await api.client.execute(uri: path, method: method, headers: headers, body: body)
            #expect(Int(response.status.code) == expected["status"] as? Int, "\(name): status")
            for (header, kind) in expected["headers"] as? [String: String] ?? [:] {
                let value = response.headers[HTTPField.Name(header)!]
                #expect(kind == "seconds" ? value.flatMap(Int.init).map { $0 > 0 } == true : value == kind, "\(name): \(header) is \(kind)")
            }
            guard expected["body"] != nil else {
                #expect(response.body.readableBytes == 0, "\(name): no body")
                return
            }
            let actual = try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView))
            let problems = Contracts.mismatches(
                actual: actual,
                expected: expected["body"],
                matchers: expected["matchers"] as? [String: String] ?? [:]
            )
            #expect(problems.isEmpty, "\(name): \(problems)")
        }
    }

    @Test func registrationWritesOutboxRowsOfTheContractedShape() async throws {
        try await UsersAPIHarness.run(["RESEND_THROTTLE_SECONDS": "0"]) { api in
            let email = UsersAPIHarness.uniqueEmail()
            #expect(try await api.register(email, "s3cret-password").status == .accepted)
            let first = try #require(try await api.latestCode(email))
            #expect(try await api.activate(email, "s3cret-password", code: first).status == .ok)
            #expect(try await api.register(email, "s3cret-password").status == .accepted)
            try await self.expectRows(api, to: email, ["outbox/v2/verification-code.json", "outbox/v2/already-registered.json"])
        }
    }

    /// The account lifecycle's rows: reset code and notice, email-change code and notice, deletion notice.
    @Test func theAccountLifecycleWritesOutboxRowsOfTheContractedShape() async throws {
        try await UsersAPIHarness.run(["RESEND_THROTTLE_SECONDS": "0"]) { api in
            let email = UsersAPIHarness.uniqueEmail("lifecycle")
            #expect(try await api.register(email, "s3cret-password").status == .accepted)
            #expect(try await api.activate(email, "s3cret-password", code: try #require(try await api.latestCode(email))).status == .ok)
            #expect(try await api.post("/v1/users/password/forgot", json: UsersAPIHarness.json(["email": email])).status == .accepted)
            let code = try #require(try await self.code(api, topic: OutboxTopic.passwordResetCode, to: email))
            let reset = UsersAPIHarness.json(["email": email, "code": code, "password": "new-s3cret-password"])
            #expect(try await api.post("/v1/users/password/reset", json: reset).status == .ok)
            let verified = try await api.verify(email, "new-s3cret-password")
            let id = try #require((try JSONSerialization.jsonObject(with: Data(verified.body.readableBytesView)) as? [String: Any])?["id"] as? String)
            let authorized: HTTPFields = [.authorization: "Bearer \(UsersAPIHarness.internalToken)"]

            let newEmail = UsersAPIHarness.uniqueEmail("lifecycle-new")
            let move = UsersAPIHarness.json(["password": "new-s3cret-password", "new_email": newEmail, "client_address": "203.0.113.7"])
            #expect(try await api.post("/internal/v1/users/\(id)/email", json: move, headers: authorized).status == .accepted)
            let confirmation = try #require(try await self.code(api, topic: OutboxTopic.emailChangeCode, to: newEmail))
            let confirm = UsersAPIHarness.json(["code": confirmation])
            #expect(try await api.post("/internal/v1/users/\(id)/email/confirm", json: confirm, headers: authorized).status == .ok)
            var headers = authorized
            headers[.contentType] = "application/json"
            let deletion = try await api.client.execute(
                uri: "/internal/v1/users/\(id)",
                method: .delete,
                headers: headers,
                body: ByteBuffer(string: UsersAPIHarness.json(["password": "new-s3cret-password", "client_address": "203.0.113.7"]))
            )
            #expect(deletion.status == .noContent)

            try await self.expectRows(
                api,
                to: email,
                [
                    "outbox/v2/verification-code.json", "outbox/v2/password-reset-code.json", "outbox/v2/password-changed.json",
                    "outbox/v2/email-changed.json",
                ]
            )
            try await self.expectRows(api, to: newEmail, ["outbox/v2/email-change-code.json", "outbox/v2/account-deleted.json"])
        }
    }

    /// The `data.code` of the newest `topic` row to `email`.
    func code(_ api: UsersAPIHarness, topic: String, to email: String) async throws -> String? {
        let rows = try await api.postgres.query(
            "SELECT payload->'data'->>'code' FROM outbox WHERE topic = \(topic) AND payload->>'to' = \(email) ORDER BY id DESC LIMIT 1",
            logger: api.logger
        )
        for try await code in rows.decode(String?.self) { return code }
        return nil
    }

    /// The rows to `email`, in order, match `fixtures` (topic, expiry, payload with its patterns).
    func expectRows(_ api: UsersAPIHarness, to email: String, _ fixtures: [String]) async throws {
        let rows = try await api.postgres.query(
            "SELECT topic, payload::text, expires_at IS NOT NULL FROM outbox WHERE payload->>'to' = \(email) ORDER BY id",
            logger: api.logger
        )
        var written: [(String, [String: Any], Bool)] = []
        for try await (topic, payload, expires) in rows.decode((String, String, Bool).self) {
            written.append((topic, try JSONSerialization.jsonObject(with: Data(payload.utf8)) as! [String: Any], expires))
        }
        #expect(written.map(\.0) == (try fixtures.map { try Contracts.fixture($0)["topic"] as? String ?? "" }))
        for ((topic, payload, expires), path) in zip(written, fixtures) {
            let fixture = try Contracts.fixture(path)
            #expect(topic == fixture["topic"] as? String)
            #expect(expires == fixture["expires"] as? Bool, "\(topic): expiry")
            var expected = try #require(fixture["payload"] as? [String: Any])
            expected["to"] = email
            let patterns = fixture["payload_patterns"] as? [String: String] ?? [:]
            for (field, pattern) in patterns {
                // `data.code`: a member of the `data` object.
                let path = field.split(separator: ".").map(String.init)
                let container = path.count == 2 ? payload[path[0]] as? [String: Any] ?? [:] : payload
                let value = container[path.last!] as? String ?? ""
                #expect(value.range(of: pattern, options: .regularExpression) != nil, "\(field) matches \(pattern)")
                if path.count == 2 {
                    var nested = expected[path[0]] as? [String: Any] ?? [:]
                    nested[path[1]] = value
                    expected[path[0]] = nested
                } else {
                    expected[field] = value
                }
            }
            #expect(Contracts.mismatches(actual: payload, expected: expected).isEmpty, "\(topic): \(payload)")
        }
    }
}
