import Common
import Foundation
import Logging
import PostgresNIO
import TestSupport
import Testing

/// The mail pipeline as real processes: mailers and SMTP mocks on a fresh migrated database and
/// a stream of their own (so suites never share one).
final class PipelineHarness: @unchecked Sendable {
    // @unchecked: the process lists are only touched by the test that owns the harness.
    let settings: PostgresSettings
    let postgres: PostgresClient
    let redis: RedisClient
    let redisURL: String
    let stream = "test:mail:\(UUID().uuidString.prefix(8))"
    let logger = TestEnvironment.logger("pipeline-test")
    private(set) var mailers: [String: ServiceProcess] = [:]
    private(set) var consumers: [String: ServiceProcess] = [:]

    init(settings: PostgresSettings, postgres: PostgresClient, redisURL: String) throws {
        self.settings = settings
        self.postgres = postgres
        self.redisURL = redisURL
        self.redis = RedisClient(
            configuration: try RedisConfiguration(environment: TestEnvironment.reader(["REDIS_URL": redisURL])),
            logger: TestEnvironment.logger("pipeline-redis")
        )
    }

    /// Runs `body` with a migrated scratch database (users-api's own `migrate`) and the test Redis.
    static func run(redisURL: String? = nil, _ body: @Sendable @escaping (PipelineHarness) async throws -> Void) async throws {
        try await TemporaryDatabase.with { settings in
            let databaseURL = "postgresql://app:app@\(settings.host):\(settings.port)/\(settings.database)"
            let migrate = try ServiceProcess(product: "users-api", environment: ["DATABASE_URL": databaseURL], arguments: ["migrate"])
            let (status, output) = migrate.waitForExit()
            #expect(status == 0, "migrate: \(output)")
            try await TemporaryDatabase.withClient(settings) { postgres in
                let harness = try PipelineHarness(
                    settings: settings,
                    postgres: postgres,
                    redisURL: try redisURL ?? TestEnvironment.require("TEST_REDIS_URL")
                )
                defer { harness.stopAll() }
                try await body(harness)
                await harness.redis.shutdown()
            }
        }
    }

    var databaseURL: String { "postgresql://app:app@\(self.settings.host):\(self.settings.port)/\(self.settings.database)" }

    /// Starts a mailer named `name`, waits until it is ready, and returns its HTTP port (health, metrics).
    @discardableResult
    func startMailer(_ name: String, _ environment: [String: String] = [:]) async throws -> Int {
        let port = try RedisServerProcess.freePort()
        var env = [
            "HTTP_PORT": String(port), "DATABASE_URL": self.databaseURL, "REDIS_URL": self.redisURL, "MAIL_STREAM": self.stream, "MAILER_ID": name,
        ]
        env.merge(environment) { _, new in new }
        self.mailers[name] = try ServiceProcess(product: "mailer", environment: env)
        #expect(try await ServiceProcess.waitFor("http://127.0.0.1:\(port)/health/live"), "mailer \(name) started")
        return port
    }

    /// Starts an SMTP mock consumer named `name` and waits until it is ready.
    func startConsumer(_ name: String, _ environment: [String: String] = [:]) async throws {
        let port = try RedisServerProcess.freePort()
        var env = [
            "HTTP_PORT": String(port), "REDIS_URL": self.redisURL, "MAIL_STREAM": self.stream, "SMTP_MOCK_CONSUMER": name,
            "SMTP_MOCK_SMTP_PORT": "0",
        ]
        env.merge(environment) { _, new in new }
        self.consumers[name] = try ServiceProcess(product: "smtp-mock", environment: env)
        #expect(try await ServiceProcess.waitFor("http://127.0.0.1:\(port)/health/live"), "smtp-mock \(name) started")
    }

    /// `kill -9`.
    func kill(mailer name: String) { self.mailers.removeValue(forKey: name)?.kill() }
    func kill(consumer name: String) { self.consumers.removeValue(forKey: name)?.kill() }

    func stopAll() {
        for process in Array(self.mailers.values) + Array(self.consumers.values) { _ = process.terminate() }
        self.mailers = [:]
        self.consumers = [:]
    }

    /// Inserts `count` verification mails the way users-api does (rows, then `NOTIFY outbox`).
    @discardableResult
    func insert(_ count: Int, expiresIn: Duration = .seconds(600)) async throws -> Set<String> {
        let rows = try await self.postgres.query(
            """
            INSERT INTO outbox (topic, payload, expires_at)
            SELECT 'user.verification_code',
                   jsonb_build_object('to', 'user' || n || '@example.com', 'subject', 'Your verification code', 'body', 'Your code is ' || lpad(n::text, 4, '0')),
                   now() + \(expiresIn.wholeMilliseconds)::bigint * interval '1 millisecond'
            FROM generate_series(1, \(count)) AS n
            RETURNING idempotency_key::text
            """,
            logger: self.logger
        )
        var keys = Set<String>()
        for try await key in rows.decode(String.self) { keys.insert(key) }
        try await self.postgres.query("SELECT pg_notify('outbox', '')", logger: self.logger)
        return keys
    }

    /// The ids stored in the inbox.
    /// The outbox idempotency keys of the messages in the inbox (whose ids are the Message-IDs,
    /// `<key>@registrar.local`).
    func inboxIDs() async throws -> Set<String> {
        let ids = try await self.redis.send(RedisCommand("ZRANGE", "\(self.stream):inbox:all", 0, -1)).array?.compactMap(\.string) ?? []
        return Set(ids.map { $0.hasSuffix("@registrar.local") ? String($0.dropLast("@registrar.local".count)) : $0 })
    }

    /// Waits until the inbox holds `count` messages (or `timeout` passes); returns the ids.
    func waitForInbox(count: Int, timeout: Duration = .seconds(60)) async throws -> Set<String> {
        let deadline = ContinuousClock.now + timeout
        var ids = try await self.inboxIDs()
        while ids.count < count && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
            ids = try await self.inboxIDs()
        }
        return ids
    }

    /// Outbox rows per status.
    func statuses() async throws -> [String: Int] {
        var result: [String: Int] = [:]
        let rows = try await self.postgres.query("SELECT status, count(*)::int FROM outbox GROUP BY status", logger: self.logger)
        for try await (status, count) in rows.decode((String, Int).self) { result[status] = count }
        return result
    }

    /// Waits until every outbox row has left pending/processing.
    func waitForSettledOutbox(timeout: Duration = .seconds(60)) async throws -> [String: Int] {
        let deadline = ContinuousClock.now + timeout
        var statuses = try await self.statuses()
        while (statuses["pending", default: 0] + statuses["processing", default: 0]) > 0 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
            statuses = try await self.statuses()
        }
        return statuses
    }

    /// Entries in the dead-letter stream.
    func deadLetters() async throws -> Int {
        try await self.redis.send(RedisCommand("XLEN", "\(self.stream):dead")).int ?? 0
    }
}
