import AsyncHTTPClient
import Common
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import TestSupport
import Testing

@testable import AuthAPI

/// auth-api as the consumer of users-api's internal API: its `UsersAPIClient` against a stub that
/// serves exactly the fixtures, and nothing else.
@Suite(.timeLimit(.minutes(1))) struct UsersAPIConsumerContractTests {
    static let token = "consumer-contract-token-0123"

    /// A live stub server answering each fixture's request with its response (500 otherwise).
    func withStub(_ body: @Sendable @escaping (UsersAPIClient) async throws -> Void) async throws {
        let router = Router()
        let responder: @Sendable (Request, BasicRequestContext) async throws -> Response = { request, _ in
            let fixtures = try Contracts.load("internal-api/v1").map(\.fixture)
            let bytes = try await request.body.collect(upTo: 1 << 20)
            let body = bytes.readableBytes > 0 ? try JSONSerialization.jsonObject(with: Data(bytes.readableBytesView)) : nil
            let authorized = request.headers[.authorization] == "Bearer \(Self.token)"
            for fixture in fixtures {
                let expected = fixture["request"] as! [String: Any]
                let response = fixture["response"] as! [String: Any]
                var path = expected["path"] as! String
                if let id = (response["body"] as? [String: Any])?["id"] as? String { path = path.replacingOccurrences(of: "{id}", with: id) }
                guard expected["method"] as? String == request.method.rawValue, Contracts.path(request.uri.path, matches: path),
                    (expected["authorized"] as? Bool ?? false) == authorized,
                    Contracts.mismatches(actual: body, expected: expected["body"]).isEmpty
                else { continue }
                let status = HTTPResponse.Status(code: response["status"] as! Int)
                guard let body = response["body"] else { return Response(status: status) }
                let json = try JSONSerialization.data(withJSONObject: body)
                var headers: HTTPFields = [.contentType: status == .ok ? "application/json" : "application/problem+json"]
                for (name, kind) in response["headers"] as? [String: String] ?? [:] {
                    headers[HTTPField.Name(name)!] = kind == "seconds" ? "900" : kind
                }
                return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: json)))
            }
            return Response(status: .internalServerError, body: .init(byteBuffer: ByteBuffer(string: "no interaction matches")))
        }
        router.post("/internal/v1/credentials/verify", use: responder)
        router.get("/internal/v1/users/:id", use: responder)
        router.post("/internal/v1/users/:id/password", use: responder)
        router.post("/internal/v1/users/:id/email", use: responder)
        router.post("/internal/v1/users/:id/email/confirm", use: responder)
        router.delete("/internal/v1/users/:id", use: responder)
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let http = HTTPClient(eventLoopGroupProvider: .shared(MultiThreadedEventLoopGroup.singleton))
            let users = UsersAPIClient(http: http, baseURL: "http://127.0.0.1:\(port)", token: Self.token, timeout: .seconds(2))
            do {
                try await body(users)
                try await http.shutdown()
            } catch {
                try await http.shutdown()
                throw error
            }
        }
    }

    @Test func theClientUnderstandsEveryInteraction() async throws {
        let logger = TestEnvironment.logger("consumer")
        try await self.withStub { users in
            let active = try #require(
                try await users.verify(email: "Alice@Example.com", password: "alice-password", client: "203.0.113.7", logger: logger)
            )
            #expect(active.id == UUID(uuidString: "6a1f3c52-0b7e-4c3e-9a53-5d6f0e2b8c11")! && active.email == "alice@example.com")
            let profile = try #require(active.profile, "the verify answer carries the whole profile")
            #expect(profile.status == .active && profile.createdAt == Date(timeIntervalSince1970: 1_795_600_800))
            #expect(profile.activatedAt == Date(timeIntervalSince1970: 1_795_600_860))
            let pending = try #require(
                try await users.verify(email: "bob@example.com", password: "bob-password", client: "203.0.113.7", logger: logger)
            )
            #expect(pending.status == .pending && pending.profile?.activatedAt == nil)
            #expect(
                try await users.verify(email: "carol@example.com", password: "not-carols", client: "203.0.113.7", logger: logger) == nil,
                "wrong password"
            )
            #expect(
                try await users.verify(email: "nobody@example.com", password: "whatever-password", client: "203.0.113.7", logger: logger) == nil,
                "unknown email"
            )

            // The spent credential budget is relayed as the same 429 with its Retry-After.
            let refused = await #expect(throws: ProblemDetails.self) {
                _ = try await users.verify(email: "frank@example.com", password: "frank-password", client: "203.0.113.7", logger: logger)
            }
            #expect(refused?.status == .tooManyRequests && refused?.code == "too_many_login_failures")
            #expect(refused?.headers[.retryAfter] == "900")

            let dave = try #require(try await users.profile(id: UUID(uuidString: "5f0d2c1b-7a6e-4f3d-b2c1-0e9f8a7b6c5d")!, logger: logger))
            #expect(dave.email == "dave@example.com" && dave.status == .active && dave.activatedAt != nil)
            let erin = try #require(try await users.profile(id: UUID(uuidString: "8b7c6d5e-4f3a-4b2c-9d1e-0f1a2b3c4d5e")!, logger: logger))
            #expect(erin.status == .pending && erin.activatedAt == nil)
            #expect(try await users.profile(id: UUID(uuidString: "00000000-0000-4000-8000-000000000000")!, logger: logger) == nil)
        }
    }

    /// The account routes: successes, and problems relayed as they are; an unknown account is
    /// ``UsersAPIClient/AccountGone`` (auth-api then ends the session).
    @Test func theClientUnderstandsEveryAccountInteraction() async throws {
        let logger = TestEnvironment.logger("consumer")
        try await self.withStub { users in
            let someone = UUID()
            let change = ChangePasswordRequest(
                currentPassword: "grace-password",
                newPassword: "grace-new-password",
                clientAddress: "203.0.113.7",
                keepSession: "5d41402abc4b2a76b9719d911017c592"
            )
            let done = try await users.account(
                .POST,
                InternalAPI.passwordPath(someone),
                body: change,
                expecting: .noContent,
                acceptLanguage: nil,
                logger: logger
            )
            #expect(done.readableBytes == 0)

            let wrong = ChangePasswordRequest(
                currentPassword: "not-heidis",
                newPassword: "heidi-new-password",
                clientAddress: "203.0.113.7",
                keepSession: nil
            )
            let refused = await #expect(throws: ProblemDetails.self) {
                _ = try await users.account(
                    .POST,
                    InternalAPI.passwordPath(someone),
                    body: wrong,
                    expecting: .noContent,
                    acceptLanguage: nil,
                    logger: logger
                )
            }
            #expect(refused?.status == .forbidden && refused?.code == "invalid_password" && refused?.detail == "The password is incorrect.")

            let move = ChangeEmailRequest(password: "ivan-password", newEmail: "ivan.new@example.com", clientAddress: "203.0.113.7")
            _ = try await users.account(.POST, InternalAPI.emailPath(someone), body: move, expecting: .accepted, acceptLanguage: "fr", logger: logger)

            let badCode = await #expect(throws: ProblemDetails.self) {
                _ = try await users.account(
                    .POST,
                    InternalAPI.emailConfirmPath(someone),
                    body: ConfirmEmailRequest(code: "0000"),
                    expecting: .ok,
                    acceptLanguage: nil,
                    logger: logger
                )
            }
            #expect(badCode?.status == .badRequest && badCode?.code == "invalid_code")

            let deletion = DeleteAccountRequest(password: "mallory-password", clientAddress: "203.0.113.7")
            _ = try await users.account(
                .DELETE,
                InternalAPI.accountPath(someone),
                body: deletion,
                expecting: .noContent,
                acceptLanguage: nil,
                logger: logger
            )
            let wrongDeletion = DeleteAccountRequest(password: "not-niajs", clientAddress: "203.0.113.7")
            await #expect(throws: ProblemDetails.self) {
                _ = try await users.account(
                    .DELETE,
                    InternalAPI.accountPath(someone),
                    body: wrongDeletion,
                    expecting: .noContent,
                    acceptLanguage: nil,
                    logger: logger
                )
            }

            let gone = ChangePasswordRequest(
                currentPassword: "whatever-password",
                newPassword: "another-password",
                clientAddress: "203.0.113.7",
                keepSession: nil
            )
            await #expect(throws: UsersAPIClient.AccountGone.self) {
                _ = try await users.account(
                    .POST,
                    InternalAPI.passwordPath(UUID(uuidString: "00000000-0000-4000-8000-000000000000")!),
                    body: gone,
                    expecting: .noContent,
                    acceptLanguage: nil,
                    logger: logger
                )
            }
        }
    }

    /// A users-api from before `created_at`/`activated_at` were added to the verify answer.
    @Test func aVerifyAnswerWithoutProfileDatesStillDecodes() throws {
        let body = #"{"id":"6a1f3c52-0b7e-4c3e-9a53-5d6f0e2b8c11","email":"alice@example.com","status":"active"}"#
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let decoded = try decoder.decode(VerifiedCredentials.self, from: Data(body.utf8))
        #expect(decoded.status == .active && decoded.createdAt == nil && decoded.profile == nil)
    }

    @Test func aRefusedInternalTokenIsAnOutageNotWrongCredentials() async throws {
        let logger = TestEnvironment.logger("consumer")
        try await self.withStub { users in
            let misconfigured = UsersAPIClient(http: users.http, baseURL: users.baseURL, token: "another-token-entirely", timeout: .seconds(2))
            await #expect(throws: ProblemDetails.self) {
                _ = try await misconfigured.verify(email: "nobody@example.com", password: "whatever-password", client: "203.0.113.7", logger: logger)
            }
        }
    }
}
