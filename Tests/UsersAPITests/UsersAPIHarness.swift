import Common
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import PostgresNIO
import TestSupport
import Testing
import UsersAPI

/// users-api built by its own `buildApplication` on a fresh migrated database and the test Redis,
/// driven through its router.
struct UsersAPIHarness: Sendable {
    static let internalToken = "test-internal-token-0123456789"

    let client: any TestClientProtocol
    let postgres: PostgresClient
    let logger: Logger

    /// Runs `body` against a users-api configured with `overrides` (bcrypt cost 4 unless set),
    /// through its router, or `live` through a real socket from 127.0.0.1 (a trusted proxy by
    /// default: `X-Real-IP` then names the client).
    static func run(
        _ overrides: [String: String] = [:],
        redisURL: String? = nil,
        live: Bool = false,
        _ body: @Sendable @escaping (UsersAPIHarness) async throws -> Void
    ) async throws {
        let logger = TestEnvironment.logger("users-api-test")
        try await TemporaryDatabase.with { settings in
            var environment = [
                "DATABASE_URL": "postgresql://app:app@\(settings.host):\(settings.port)/\(settings.database)",
                "REDIS_URL": try redisURL ?? TestEnvironment.require("TEST_REDIS_URL"),
                "INTERNAL_API_TOKEN": Self.internalToken,
                "BCRYPT_COST": "4",
                // Router tests have no peer address: every request is one client ("unknown"), so
                // the per-client limits are lifted here and tested through real sockets instead.
                "CLIENT_MAX_FAILURES": "1000000", "REGISTRATION_MAX_PER_ADDRESS": "1000000",
                "MAIL_MAX_PER_MINUTE": "1000000", "MAIL_MAX_PER_RECIPIENT_PER_DAY": "1000000",
            ]
            if live { environment["HTTP_PORT"] = String(try RedisServerProcess.freePort()) }
            environment.merge(overrides) { _, new in new }
            let configuration = try UsersAPIConfiguration(environment: TestEnvironment.reader(environment))
            _ = try await runMigrations(postgres: configuration.postgres, logger: logger)
            let app = try await buildApplication(configuration: configuration, logger: logger)
            try await TemporaryDatabase.withClient(settings) { postgres in
                try await app.test(live ? .live : .router) { client in
                    try await body(UsersAPIHarness(client: client, postgres: postgres, logger: logger))
                }
            }
        }
    }

    static func uniqueEmail(_ tag: String = "user") -> String { "\(tag)+\(UUID().uuidString.prefix(8).lowercased())@example.com" }

    static func basic(_ email: String, _ password: String) -> HTTPFields {
        [.authorization: "Basic " + Data("\(email):\(password)".utf8).base64EncodedString()]
    }

    /// POSTs `json` (a raw string) to `uri`.
    func post(_ uri: String, json: String? = nil, headers: HTTPFields = [:]) async throws -> TestResponse {
        var headers = headers
        if json != nil, headers[.contentType] == nil { headers[.contentType] = "application/json" }
        return try await self.client.execute(uri: uri, method: .post, headers: headers, body: json.map { ByteBuffer(string: $0) })
    }

    func register(_ email: String, _ password: String, client: String? = nil) async throws -> TestResponse {
        try await self.post("/v1/users", json: Self.json(["email": email, "password": password]), headers: Self.client(client))
    }

    func activate(_ email: String, _ password: String, code: String, client: String? = nil) async throws -> TestResponse {
        var headers = Self.basic(email, password)
        headers[.xRealIP] = client
        return try await self.post("/v1/users/activate", json: Self.json(["code": code]), headers: headers)
    }

    func resend(_ email: String, _ password: String, client: String? = nil) async throws -> TestResponse {
        var headers = Self.basic(email, password)
        headers[.xRealIP] = client
        return try await self.post("/v1/users/activate/resend", headers: headers)
    }

    /// `POST /internal/v1/credentials/verify` (what login does) for `client`.
    func verify(_ email: String, _ password: String, client: String = "203.0.113.1") async throws -> TestResponse {
        try await self.post(
            InternalAPI.verifyCredentialsPath,
            json: Self.json(["email": email, "password": password, "client_address": client]),
            headers: [.authorization: "Bearer \(Self.internalToken)"]
        )
    }

    /// `X-Real-IP: client`, as the edge sets it.
    static func client(_ address: String?) -> HTTPFields {
        var headers = HTTPFields()
        headers[.xRealIP] = address
        return headers
    }

    /// A random client address in 10.0.0.0/8.
    static func randomClient() -> String { "10.\(Int.random(in: 0...255)).\(Int.random(in: 0...255)).\(Int.random(in: 1...254))" }

    /// The code in the newest verification mail to `email`: the seed README's outbox query.
    func latestCode(_ email: String) async throws -> String? {
        let rows = try await self.postgres.query(
            """
            select payload->>'body' from outbox
                  where topic='user.verification_code' and payload->>'to'=\(email)
                  order by created_at desc, id desc limit 1
            """,
            logger: self.logger
        )
        for try await body in rows.decode(String.self) {
            return body.split(separator: " ").last.map(String.init)
        }
        return nil
    }

    func count(_ sql: String) async throws -> Int {
        for try await value in try await self.postgres.query(PostgresQuery(unsafeSQL: sql), logger: self.logger).decode(Int.self) {
            return value
        }
        return 0
    }

    func userStatus(_ email: String) async throws -> String? {
        let rows = try await self.postgres.query("SELECT status FROM users WHERE lower(email) = lower(\(email))", logger: self.logger)
        for try await status in rows.decode(String.self) { return status }
        return nil
    }

    static func json(_ object: [String: String]) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: object), as: UTF8.self)
    }
}

extension TestResponse {
    /// The problem body, or a test failure.
    var problem: ProblemDetails.Body? {
        try? JSONDecoder().decode(ProblemDetails.Body.self, from: Data(self.body.readableBytesView))
    }

    var text: String { String(buffer: self.body) }
}
