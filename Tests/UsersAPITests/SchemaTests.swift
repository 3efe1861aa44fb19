import Common
import CommonPostgres
import Logging
import PostgresNIO
import TestSupport
import Testing
import UsersAPI

@Suite(.timeLimit(.minutes(2))) struct SchemaTests {
    let logger = TestEnvironment.logger("schema-test")

    func withMigratedDatabase(_ body: @Sendable @escaping (PostgresClient) async throws -> Void) async throws {
        try await TemporaryDatabase.with { settings in
            try await TemporaryDatabase.withClient(settings) { client in
                try await Migrator(client: client, logger: self.logger).migrate(UsersMigrations.all())
                try await body(client)
            }
        }
    }

    @Test func emailsAreUniqueCaseInsensitively() async throws {
        try await self.withMigratedDatabase { client in
            try await client.query("INSERT INTO users (email, password_hash) VALUES ('Me@Example.com', 'x')", logger: self.logger)
            await #expect(throws: PSQLError.self) {
                try await client.query("INSERT INTO users (email, password_hash) VALUES ('me@example.COM', 'y')", logger: self.logger)
            }
            await #expect(throws: PSQLError.self, "status is pending or active only") {
                try await client.query(
                    "INSERT INTO users (email, password_hash, status) VALUES ('b@example.com', 'x', 'banned')",
                    logger: self.logger
                )
            }
            await #expect(throws: PSQLError.self, "an active user has an activation time") {
                try await client.query(
                    "INSERT INTO users (email, password_hash, status) VALUES ('c@example.com', 'x', 'active')",
                    logger: self.logger
                )
            }
        }
    }

    @Test func theSeedREADMEOutboxQueryFindsTheLatestCode() async throws {
        try await self.withMigratedDatabase { client in
            for code in ["1111", "2222"] {
                let payload = #"{"to":"me@example.com","subject":"Your verification code","body":"Your code is \#(code)"}"#
                try await client.query(
                    "INSERT INTO outbox (topic, payload) VALUES ('user.verification_code', \(payload)::jsonb)",
                    logger: self.logger
                )
                try await Task.sleep(for: .milliseconds(5))
            }
            // Verbatim from the seed README (EMAIL substituted).
            let rows = try await client.query(
                """
                select payload->>'body' from outbox
                      where topic='user.verification_code' and payload->>'to'='me@example.com'
                      order by created_at desc limit 1;
                """,
                logger: self.logger
            )
            var bodies: [String] = []
            for try await body in rows.decode(String.self) { bodies.append(body) }
            #expect(bodies == ["Your code is 2222"])
            let defaults = try await client.query(
                "SELECT status, attempts, next_attempt_at <= now(), idempotency_key IS NOT NULL FROM outbox LIMIT 1",
                logger: self.logger
            )
            for try await (status, attempts, due, keyed) in defaults.decode((String, Int, Bool, Bool).self) {
                #expect(status == "pending" && attempts == 0 && due && keyed)
            }
            await #expect(throws: PSQLError.self, "payload must carry to, subject and body") {
                try await client.query("INSERT INTO outbox (topic, payload) VALUES ('t', '{\"to\":\"x\"}'::jsonb)", logger: self.logger)
            }
        }
    }
}
