import Common
import CommonPostgres
import Foundation
import Logging
import PostgresNIO
import TestSupport
import Testing

/// The answer of a transaction matches its outcome: a deadline that passes while COMMIT is in
/// flight never turns committed work into an error; one that passes before COMMIT rolls back.
@Suite(.timeLimit(.minutes(1))) struct PostgresTransactionTests {
    let logger = TestEnvironment.logger("transaction-test")

    func withTable(_ body: @Sendable @escaping (PostgresClient) async throws -> Void) async throws {
        try await TemporaryDatabase.with { settings in
            try await TemporaryDatabase.withClient(settings) { client in
                try await client.query("CREATE TABLE t (id int PRIMARY KEY)", logger: self.logger)
                // Each COMMIT sleeps 3 s: a deferred constraint trigger runs at commit time.
                try await client.query(
                    "CREATE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(3); RETURN NULL; END $$",
                    logger: self.logger
                )
                try await client.query(
                    """
                    CREATE CONSTRAINT TRIGGER slow AFTER INSERT ON t DEFERRABLE INITIALLY DEFERRED
                    FOR EACH ROW WHEN (NEW.id >= 100) EXECUTE FUNCTION slow_commit()
                    """,
                    logger: self.logger
                )
                try await body(client)
            }
        }
    }

    func count(_ client: PostgresClient) async throws -> Int {
        for try await value in try await client.query("SELECT count(*)::int FROM t", logger: self.logger).decode(Int.self) { return value }
        return -1
    }

    @Test func aSlowCommitPastTheDeadlineIsAwaitedAndReported() async throws {
        try await self.withTable { client in
            let started = ContinuousClock.now
            try await withPostgresTransaction(client, timeout: .milliseconds(500), commitTimeout: .seconds(5), logger: self.logger) { connection in
                try await connection.query("INSERT INTO t VALUES (100)", logger: self.logger)
            }
            #expect(ContinuousClock.now - started >= .seconds(3), "the commit was awaited, not abandoned")
            #expect(try await self.count(client) == 1)
        }
    }

    @Test func aCommitWithoutAnAnswerInTimeIsUnknownNeverAPlainOutage() async throws {
        try await self.withTable { client in
            // The body has 1.2 s (a loaded machine may take hundreds of ms to run one INSERT);
            // COMMIT, sent before then, sleeps 3 s: still unanswered 300 ms after the deadline,
            // with 1.5 s to spare for a timer that a busy machine runs late.
            await #expect(throws: PostgresCommitOutcomeUnknown.self) {
                try await withPostgresTransaction(client, timeout: .milliseconds(1200), commitTimeout: .milliseconds(300), logger: self.logger) {
                    try await $0.query("INSERT INTO t VALUES (101)", logger: self.logger)
                }
            }
            #expect(ProblemDetails.unavailable(for: PostgresCommitOutcomeUnknown(reason: "test"))?.code == "outcome_unknown")
        }
    }

    @Test func aBodyPastTheDeadlineRollsBackAndSaysSo() async throws {
        try await self.withTable { client in
            let error = await #expect(throws: PostgresDeadlineExceeded.self) {
                try await withPostgresTransaction(client, timeout: .milliseconds(300), commitTimeout: .seconds(5), logger: self.logger) {
                    try await $0.query("INSERT INTO t VALUES (1)", logger: self.logger)
                    try await $0.query("SELECT pg_sleep(1)", logger: self.logger)
                }
            }
            #expect(error.flatMap { ProblemDetails.unavailable(for: $0) }?.code == "service_unavailable")
            try await Task.sleep(for: .milliseconds(1200))
            #expect(try await self.count(client) == 0, "nothing committed")
        }
    }
}
