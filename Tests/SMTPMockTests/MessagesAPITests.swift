import Common
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import SMTPMock
import TestSupport
import Testing

@Suite(.timeLimit(.minutes(1))) struct MessagesAPITests {
    func run(_ body: @Sendable @escaping (any TestClientProtocol) async throws -> Void) async throws {
        let environment = TestEnvironment.reader([
            "REDIS_URL": try TestEnvironment.require("TEST_REDIS_URL"),
            "MAIL_STREAM": "test:mail:\(UUID().uuidString.prefix(8))",
            "SMTP_MOCK_SMTP_PORT": "0",
        ])
        let app = try await buildApplication(
            configuration: SMTPMockConfiguration(environment: environment),
            logger: TestEnvironment.logger("smtp-mock-test")
        )
        try await app.test(.router) { client in try await body(client) }
    }

    func send(_ client: any TestClientProtocol, to: String, body: String, key: String? = nil) async throws -> TestResponse {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let key { headers[HTTPField.Name("Idempotency-Key")!] = key }
        let json = try JSONSerialization.data(withJSONObject: ["to": to, "subject": "Hello", "body": body])
        return try await client.execute(uri: "/send", method: .post, headers: headers, body: ByteBuffer(bytes: json))
    }

    func list(_ client: any TestClientProtocol, _ query: String) async throws -> [[String: Any]] {
        let response = try await client.execute(uri: "/messages\(query)", method: .get)
        #expect(response.status == .ok)
        return try #require(try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [[String: Any]])
    }

    @Test func sendStoresOncePerIdempotencyKeyAndListsNewestFirst() async throws {
        try await self.run { client in
            #expect(try await self.send(client, to: "a@example.com", body: "first", key: "k1").status == .accepted)
            #expect(try await self.send(client, to: "a@example.com", body: "first again", key: "k1").status == .accepted)
            try await Task.sleep(for: .milliseconds(5))
            #expect(try await self.send(client, to: "A@example.com", body: "second").status == .accepted)
            #expect(try await self.send(client, to: "b@example.com", body: "other").status == .accepted)
            let messages = try await self.list(client, "?to=a@example.com")
            #expect(messages.map { $0["body"] as? String } == ["second", "first"])
            #expect(Set(messages[0].keys) == ["id", "to", "subject", "body", "received_at", "recipients", "headers"])
            #expect(try await self.list(client, "").count == 3)

            let one = try await client.execute(uri: "/messages/k1", method: .get)
            #expect(one.status == .ok)
            #expect(String(buffer: one.body).contains("\"body\":\"first\""))
            #expect(try await client.execute(uri: "/messages/nope", method: .get).status == .notFound)

            #expect(try await client.execute(uri: "/messages", method: .delete).status == .noContent)
            #expect(try await self.list(client, "").isEmpty)
            #expect(try await self.list(client, "?to=a@example.com").isEmpty)
        }
    }

    @Test func badRequestsAreProblems() async throws {
        try await self.run { client in
            let missing = try await client.execute(
                uri: "/send",
                method: .post,
                headers: [.contentType: "application/json"],
                body: ByteBuffer(string: "{}")
            )
            #expect(missing.status == .unprocessableContent)
            #expect(try await client.execute(uri: "/messages?limit=0", method: .get).status == .unprocessableContent)
            #expect(try await client.execute(uri: "/messages?limit=abc", method: .get).status == .unprocessableContent)
            let malformed = try await client.execute(
                uri: "/send",
                method: .post,
                headers: [.contentType: "application/json"],
                body: ByteBuffer(string: "{")
            )
            #expect(malformed.status == .badRequest)
        }
    }
}
