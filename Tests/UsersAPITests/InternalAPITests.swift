import Common
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import TestSupport
import Testing

@Suite(.timeLimit(.minutes(2))) struct InternalAPITests {
    let bearer: HTTPFields = [.authorization: "Bearer \(UsersAPIHarness.internalToken)"]

    @Test func verifiesCredentialsAndServesProfiles() async throws {
        try await UsersAPIHarness.run { api in
            let email = UsersAPIHarness.uniqueEmail()
            #expect(try await api.register(email, "s3cret-password").status == .accepted)
            let request = UsersAPIHarness.json(["email": email.uppercased(), "password": "s3cret-password"])
            let verified = try await api.post(InternalAPI.verifyCredentialsPath, json: request, headers: self.bearer)
            #expect(verified.status == .ok)
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .iso8601
            let credentials = try decoder.decode(VerifiedCredentials.self, from: Data(verified.body.readableBytesView))
            #expect(credentials.email == email && credentials.status == .pending)
            #expect(credentials.createdAt != nil && credentials.activatedAt == nil, "the whole profile")

            let profile = try await api.client.execute(uri: InternalAPI.userPath(credentials.id), method: .get, headers: self.bearer)
            #expect(profile.status == .ok)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(profile.body.readableBytesView)) as? [String: Any])
            #expect(Set(object.keys) == ["id", "email", "status", "created_at", "activated_at"])
            #expect(object["activated_at"] is NSNull)
            #expect(try decoder.decode(UserProfile.self, from: Data(profile.body.readableBytesView)) == credentials.profile)
        }
    }

    @Test func refusesWrongTokensWrongPasswordsAndUnknownUsers() async throws {
        try await UsersAPIHarness.run { api in
            let email = UsersAPIHarness.uniqueEmail()
            #expect(try await api.register(email, "s3cret-password").status == .accepted)
            let request = UsersAPIHarness.json(["email": email, "password": "s3cret-password"])
            for headers: HTTPFields in [[:], [.authorization: "Bearer wrong-token-0123456789"], [.authorization: "Basic abc"]] {
                let response = try await api.post(InternalAPI.verifyCredentialsPath, json: request, headers: headers)
                #expect(response.status == .unauthorized)
                #expect(response.problem?.code == "invalid_internal_token")
            }
            let wrong = try await api.post(
                InternalAPI.verifyCredentialsPath,
                json: UsersAPIHarness.json(["email": email, "password": "nope-nope"]),
                headers: self.bearer
            )
            #expect(wrong.status == .unauthorized)
            #expect(wrong.problem?.code == "invalid_credentials")
            let missing = try await api.post(InternalAPI.verifyCredentialsPath, json: "{}", headers: self.bearer)
            #expect(missing.status == .unprocessableContent)
            let unknown = try await api.client.execute(uri: InternalAPI.userPath(UUID()), method: .get, headers: self.bearer)
            #expect(unknown.status == .notFound)
            #expect(unknown.problem?.code == "user_not_found")
            let garbage = try await api.client.execute(uri: "/internal/v1/users/not-a-uuid", method: .get, headers: self.bearer)
            #expect(garbage.status == .notFound)
        }
    }
}
