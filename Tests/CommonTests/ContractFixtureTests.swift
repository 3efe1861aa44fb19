import Common
import Foundation
import NIOCore
import TestSupport
import Testing

/// Every contract fixture decodes with Common's wire types and re-encodes to the same keys.
@Suite struct ContractFixtureTests {
    func roundTrip<Value: Codable>(_ type: Value.Type, _ object: Any?) throws -> [String: Any] {
        let data = try JSONSerialization.data(withJSONObject: try #require(object))
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let value = try decoder.decode(type, from: data)
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        return try #require(try JSONSerialization.jsonObject(with: encoder.encode(value)) as? [String: Any])
    }

    @Test func internalAPIFixturesAreCommonWireTypes() throws {
        for (name, fixture) in try Contracts.load("internal-api/v1") {
            let request = try #require(fixture["request"] as? [String: Any])
            let response = try #require(fixture["response"] as? [String: Any])
            let path = try #require(request["path"] as? String)
            let method = try #require(request["method"] as? String)
            let requestType: (any Codable.Type)? =
                switch (method, path.split(separator: "/").last ?? "") {
                case ("POST", "verify"): VerifyCredentialsRequest.self
                case ("POST", "password"): ChangePasswordRequest.self
                case ("POST", "email"): ChangeEmailRequest.self
                case ("POST", "confirm"): ConfirmEmailRequest.self
                case ("DELETE", _): DeleteAccountRequest.self
                default: nil
                }
            if let body = request["body"] {
                let type = try #require(requestType, "\(name): a body for \(method) \(path)")
                #expect(Set(try self.roundTrip(type, body).keys) == Set((body as! [String: Any]).keys), "\(name)")
            }
            let status = try #require(response["status"] as? Int)
            guard let body = response["body"] as? [String: Any] else {
                #expect(status == 204, "\(name): only a 204 has no body")
                continue
            }
            let type: any Codable.Type =
                switch (status, path == InternalAPI.verifyCredentialsPath, path.hasSuffix("/confirm")) {
                case (200, true, _): VerifiedCredentials.self
                case (200, false, _): UserProfile.self
                case (202, _, _): AcceptedStatus.self
                default: ProblemDetails.Body.self
                }
            let reencoded = try self.roundTrip(type, body)
            #expect(Set(reencoded.keys) == Set(body.keys), "\(name): \(type) has exactly the fixture's fields")
        }
    }

    /// `{"status": "accepted"}`, the 202 body.
    struct AcceptedStatus: Codable {
        var status: String
    }

    @Test func outboxFixturesArePayloads() throws {
        for (name, fixture) in try Contracts.load("outbox/v1") {
            let payload = try #require(fixture["payload"] as? [String: Any])
            #expect(Contracts.mismatches(actual: try self.roundTrip(OutboxPayload.self, payload), expected: payload).isEmpty, "\(name)")
            #expect([OutboxTopic.verificationCode, OutboxTopic.alreadyRegistered].contains(fixture["topic"] as? String ?? ""), "\(name)")
        }
    }

    @Test func streamFixturesAreMailStreamEntries() throws {
        for (name, fixture) in try Contracts.load("mail-stream/v1") {
            let fields = try #require(fixture["fields"] as? [[String]])
            let entry = RedisStreamEntry(id: "1-0", fields: fields.map { ($0[0], .init(string: $0[1])) })
            let decoded = try #require(MailStreamEntry(entry), "\(name) decodes")
            #expect(decoded.fields.map { [$0.0, String(decoding: $0.1.redisArgument, as: UTF8.self)] } == fields, "\(name) re-encodes identically")
        }
    }
}
