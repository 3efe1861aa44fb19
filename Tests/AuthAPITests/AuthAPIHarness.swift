import AuthAPI
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

/// A real users-api process on a fresh migrated database, and auth-api apps (built by their own
/// `buildApplication`) driven through their routers, all on the test Redis.
final class AuthAPIHarness: @unchecked Sendable {
    // @unchecked: `usersAPI` is replaced only by the test that owns the harness (stop/start).
    static let token = "test-internal-token-0123456789"

    let settings: PostgresSettings
    let postgres: PostgresClient
    let usersPort: Int
    let logger = TestEnvironment.logger("auth-api-test")
    private var usersAPI: ServiceProcess?

    init(settings: PostgresSettings, postgres: PostgresClient) throws {
        self.settings = settings
        self.postgres = postgres
        self.usersPort = try RedisServerProcess.freePort()
    }

    var databaseURL: String { "postgresql://app:app@\(self.settings.host):\(self.settings.port)/\(self.settings.database)" }
    var usersURL: String { "http://127.0.0.1:\(self.usersPort)" }

    static func run(_ body: @Sendable @escaping (AuthAPIHarness) async throws -> Void) async throws {
        try await TemporaryDatabase.with { settings in
            try await TemporaryDatabase.withClient(settings) { postgres in
                let harness = try AuthAPIHarness(settings: settings, postgres: postgres)
                let migrate = try ServiceProcess(product: "users-api", environment: ["DATABASE_URL": harness.databaseURL], arguments: ["migrate"])
                #expect(migrate.waitForExit().status == 0)
                try await harness.startUsersAPI()
                defer { harness.stopUsersAPI() }
                try await body(harness)
            }
        }
    }

    func startUsersAPI() async throws {
        self.usersAPI = try ServiceProcess(
            product: "users-api",
            environment: [
                "HTTP_PORT": String(self.usersPort), "DATABASE_URL": self.databaseURL, "REDIS_URL": try TestEnvironment.require("TEST_REDIS_URL"),
                "INTERNAL_API_TOKEN": Self.token, "BCRYPT_COST": "4", "RESEND_THROTTLE_SECONDS": "0",
                "CLIENT_MAX_FAILURES": "1000000", "REGISTRATION_MAX_PER_ADDRESS": "1000000", "MAIL_MAX_PER_MINUTE": "1000000",
                "MAIL_MAX_PER_RECIPIENT_PER_DAY": "1000000",
            ]
        )
        #expect(try await ServiceProcess.waitFor("\(self.usersURL)/health/ready"), "users-api is ready")
    }

    func stopUsersAPI() {
        _ = self.usersAPI?.terminate()
        self.usersAPI = nil
    }

    /// An auth-api with `overrides`, driven through its router (or, `live`, a real socket from
    /// 127.0.0.1, a trusted proxy by default: `X-Real-IP` then names the client).
    func withAuthAPI(
        _ overrides: [String: String] = [:],
        live: Bool = false,
        _ body: @Sendable @escaping (any TestClientProtocol) async throws -> Void
    ) async throws {
        var environment = [
            "REDIS_URL": try TestEnvironment.require("TEST_REDIS_URL"), "USERS_API_URL": self.usersURL, "INTERNAL_API_TOKEN": Self.token,
        ]
        if live { environment["HTTP_PORT"] = String(try RedisServerProcess.freePort()) }
        environment.merge(overrides) { _, new in new }
        let app = try await buildApplication(
            configuration: AuthAPIConfiguration(environment: TestEnvironment.reader(environment)),
            logger: self.logger
        )
        try await app.test(live ? .live : .router) { client in try await body(client) }
    }

    /// Registers (and, unless `activate` is false, activates) a fresh account through users-api.
    func account(activate: Bool = true, password: String = "s3cret-password") async throws -> String {
        let email = "auth+\(UUID().uuidString.prefix(8).lowercased())@example.com"
        let registered = try await HTTP.request("POST", "\(self.usersURL)/v1/users", json: ["email": email, "password": password])
        #expect(registered.status == 202)
        guard activate else { return email }
        let rows = try await self.postgres.query(
            "SELECT payload->>'body' FROM outbox WHERE payload->>'to' = \(email) ORDER BY id DESC LIMIT 1",
            logger: self.logger
        )
        var code = ""
        for try await body in rows.decode(String.self) { code = String(body.suffix(4)) }
        let activated = try await HTTP.request(
            "POST",
            "\(self.usersURL)/v1/users/activate",
            headers: ["Authorization": HTTP.basic(email, password)],
            json: ["code": code]
        )
        #expect(activated.status == 200)
        return email
    }
}

extension TestClientProtocol {
    func login(_ email: String, _ password: String = "s3cret-password", address: String? = nil) async throws -> TestResponse {
        var headers: HTTPFields = [.authorization: HTTP.basic(email, password)]
        if let address { headers[.xRealIP] = address }
        return try await self.execute(uri: "/v1/users/login", method: .post, headers: headers)
    }

    func token(_ email: String, _ password: String = "s3cret-password") async throws -> String {
        let response = try await self.login(email, password)
        #expect(response.status == .ok)
        return try #require(response.json?["token"] as? String)
    }

    func bearer(_ method: HTTPRequest.Method, _ uri: String, token: String?) async throws -> TestResponse {
        var headers = HTTPFields()
        if let token { headers[.authorization] = "Bearer \(token)" }
        return try await self.execute(uri: uri, method: method, headers: headers)
    }
}

extension TestResponse {
    var json: [String: Any]? { try? JSONSerialization.jsonObject(with: Data(self.body.readableBytesView)) as? [String: Any] }
    var jsonArray: [[String: Any]]? { try? JSONSerialization.jsonObject(with: Data(self.body.readableBytesView)) as? [[String: Any]] }
    var problemCode: String? { self.json?["code"] as? String }
}
