import Common
import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import PostgresNIO
import TestSupport
import Testing

@testable import UsersAPI

/// The retention job deletes finished outbox rows and stale pending accounts (with their codes),
/// and two replicas running it at once delete each row once.
@Suite(.timeLimit(.minutes(2))) struct RetentionTests {
    @Test func finishedRowsAndStalePendingAccountsGoOnceEvenWithTwoReplicas() async throws {
        try await UsersAPIHarness.run(["RESEND_THROTTLE_SECONDS": "0"]) { api in
            // Fresh rows and accounts (kept), then 2,500 old finished rows and 1,200 stale accounts.
            let fresh = UsersAPIHarness.uniqueEmail("fresh")
            #expect(try await api.register(fresh, "s3cret-password").status == .accepted)
            let stale = UsersAPIHarness.uniqueEmail("stale")
            #expect(try await api.register(stale, "s3cret-password").status == .accepted)
            try await api.postgres.query(
                """
                INSERT INTO outbox (topic, payload, status, created_at)
                SELECT 'user.verification_code', jsonb_build_object('to', 'old' || n || '@example.com', 'subject', 's', 'body', 'Your code is 0000'),
                       (ARRAY['dispatched', 'expired', 'failed'])[1 + n % 3], now() - interval '200 hours'
                FROM generate_series(1, 2500) AS n
                """,
                logger: api.logger
            )
            try await api.postgres.query(
                "INSERT INTO outbox (topic, payload, status, created_at) VALUES ('t', jsonb_build_object('to', 'p@example.com', 'subject', 's', 'body', 'b'), 'pending', now() - interval '200 hours')",
                logger: api.logger
            )
            try await api.postgres.query(
                """
                INSERT INTO users (email, password_hash, updated_at)
                SELECT 'gone' || n || '@example.com', 'x', now() - interval '200 hours' FROM generate_series(1, 1200) AS n
                """,
                logger: api.logger
            )
            try await api.postgres.query("UPDATE users SET updated_at = now() - interval '200 hours' WHERE email = \(stale)", logger: api.logger)
            let outboxBefore = try await api.count("SELECT count(*)::int FROM outbox")

            let configuration = try UsersAPIConfiguration(
                environment: TestEnvironment.reader([
                    "DATABASE_URL": "postgresql://unused@127.0.0.1:1/unused", "INTERNAL_API_TOKEN": UsersAPIHarness.internalToken,
                ])
            )
            let redis = RedisClient(configuration: try TestEnvironment.redisConfiguration(), logger: api.logger)
            let codes = CodeStore(
                purpose: .activation,
                redis: redis,
                codeLength: 4,
                codeTTL: .seconds(60),
                maxAttempts: 5,
                throttle: .zero,
                maxFailures: 100,
                failureWindow: .seconds(60)
            )
            let job = RetentionJob(
                postgres: api.postgres,
                codes: codes,
                interval: .seconds(600),
                outboxRetention: configuration.outboxRetention,
                pendingUserRetention: configuration.pendingUserRetention,
                logger: api.logger
            )
            let staleID = try #require(try await self.id(of: stale, api))
            #expect(try await redis.send(RedisCommand("EXISTS", codes.codeKey(CodeStore.owner(staleID)))).int == 1)

            async let first = job.purgeOnce()
            async let second = job.purgeOnce()
            let (a, b) = try await (first, second)
            #expect(a.outboxRows + b.outboxRows == 2500, "each old finished row deleted once")
            #expect(a.pendingUsers + b.pendingUsers == 1201, "each stale pending account deleted once")
            #expect(try await api.count("SELECT count(*)::int FROM outbox") == outboxBefore - 2500, "pending and fresh rows kept")
            #expect(try await api.userStatus(fresh) == "pending")
            #expect(try await api.userStatus(stale) == nil)
            #expect(try await redis.send(RedisCommand("EXISTS", codes.codeKey(CodeStore.owner(staleID)))).int == 0, "its code went with it")
            #expect(try await job.purgeOnce() == (0, 0))
            // The address can register again.
            #expect(try await api.register(stale, "another-password").status == .accepted)
            await redis.shutdown()
        }
    }

    func id(of email: String, _ api: UsersAPIHarness) async throws -> UUID? {
        for try await id in try await api.postgres.query("SELECT id FROM users WHERE email = \(email)", logger: api.logger).decode(UUID.self) {
            return id
        }
        return nil
    }
}
