import Common
import CommonPostgres
import Foundation
import HTTPTypes
import Logging
import PostgresNIO
import TestSupport
import Testing
import _ConnectionPoolModule

/// Outages are 503 with `Retry-After` through ``ProblemMiddleware``: Redis errors by Common's own
/// conformance, postgres-nio's by CommonPostgres's (Common itself does not link postgres-nio).
@Suite(.timeLimit(.minutes(1))) struct DependencyUnavailableTests {
    /// postgres-nio queues a query for a Postgres it cannot reach until its circuit breaker trips
    /// (15 s or more); the deadline turns that into a prompt 503.
    @Test func anUnreachablePostgresMissesTheDeadlineAsAnOutage() async throws {
        let port = try RedisServerProcess.freePort()  // nothing listens there
        let settings = try PostgresSettings(url: "postgresql://app:app@127.0.0.1:\(port)/app")
        try await TemporaryDatabase.withClient(settings) { client in
            let started = ContinuousClock.now
            do {
                try await withPostgresDeadline(.milliseconds(300)) {
                    try await client.query("SELECT 1", logger: TestEnvironment.logger("dependency"))
                }
                Issue.record("a query to nowhere cannot succeed")
            } catch {
                #expect(error is PostgresDeadlineExceeded)
                #expect(ContinuousClock.now - started < .seconds(3))
                let problem = try #require(ProblemDetails.unavailable(for: error))
                #expect(problem.status == .serviceUnavailable && problem.detail?.contains("Postgres") == true)
                #expect(problem.headers[.retryAfter] != nil)
            }
        }
    }

    @Test func onlyOutagesAreUnavailable() {
        #expect(ProblemDetails.unavailable(for: RedisClientError.connectionClosed)?.detail?.contains("Redis") == true)
        #expect(ProblemDetails.unavailable(for: ConnectionPoolError.connectionCreationCircuitBreakerTripped)?.detail?.contains("Postgres") == true)
        #expect(ProblemDetails.unavailable(for: ConnectionPoolError.poolShutdown) != nil)
        #expect(ProblemDetails.unavailable(for: ConnectionPoolError.requestCancelled) == nil)
        #expect(ProblemDetails.unavailable(for: RedisClientError.shutDown) == nil)
        #expect(ProblemDetails.unavailable(for: RedisServerError(message: "WRONGTYPE Operation against a key")) == nil)
        #expect(ProblemDetails.unavailable(for: CancellationError()) == nil)
        // A full Redis (noeviction) and one still loading its append-only file after a restart.
        for message in ["OOM command not allowed when used memory > 'maxmemory'.", "LOADING Redis is loading the dataset in memory"] {
            let problem = ProblemDetails.unavailable(for: RedisServerError(message: message))
            #expect(problem?.status == .serviceUnavailable && problem?.code == "service_unavailable", "\(message)")
        }
    }
}
