import Common
import Logging
import NIOConcurrencyHelpers
import PostgresNIO

/// A `COMMIT` was sent but its answer never came (the connection dropped, or Postgres did not
/// answer within the bound): the transaction may or may not have committed. Callers that can
/// tell (by looking for a row the transaction wrote) should; the others must answer as if it
/// might have (keep throttles, never promise "nothing was done").
public struct PostgresCommitOutcomeUnknown: DependencyUnavailableError, CustomStringConvertible {
    /// What happened to the `COMMIT`.
    public let reason: String

    /// Creates the error.
    public init(reason: String) {
        self.reason = reason
    }

    /// Always `Postgres`.
    public var unavailableDependency: String? { "Postgres" }
    /// Always: the transaction may have committed.
    public var outcomeUnknown: Bool { true }
    /// For logs.
    public var description: String { "the outcome of COMMIT is unknown: \(self.reason)" }
}

/// Runs `body` in a transaction with a deadline that never abandons a commit in flight.
///
/// Getting a connection, `BEGIN` and `body` must finish within `timeout`, else the work is
/// cancelled and rolled back: ``PostgresDeadlineExceeded`` (nothing was committed). Once
/// `COMMIT` is sent, its answer is awaited up to `commitTimeout` more: success returns the value,
/// an error answer from the server rethrows it (rolled back), and a dropped connection or no
/// answer throws ``PostgresCommitOutcomeUnknown``.
public func withPostgresTransaction<Value: Sendable>(
    _ client: PostgresClient,
    timeout: Duration,
    commitTimeout: Duration,
    logger: Logger,
    _ body: @escaping @Sendable (PostgresConnection) async throws -> Value
) async throws -> Value {
    // Decided once, under the lock: either the deadline abandons the transaction before COMMIT
    // (then it rolls back), or COMMIT is sent first (then the deadline waits for its answer).
    let phase = NIOLockedValueBox(TransactionPhase.working)
    // The transaction runs in a task of its own and the answer comes from whichever finishes
    // first, the transaction or the deadline: a statement sent on a connection that Postgres
    // closed (kill -9) can stay unanswered forever in postgres-nio 1.33, and must not hold the
    // request (see ``withTimeout(_:operation:)``).
    let answer = FirstAnswer<Value>()
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { continuation in
            answer.wait(continuation)
            let work = Task {
                do {
                    answer.resume(with: .success(try await transaction(client, phase: phase, timeout: timeout, logger: logger, body)))
                } catch {
                    answer.resume(with: .failure(error))
                }
            }
            let timer = Task {
                try await Task.sleep(for: timeout)
                let committing = phase.withLockedValue { phase -> Bool in
                    if phase == .committing { return true }
                    phase = .abandoned
                    return false
                }
                guard committing else {
                    if answer.resume(with: .failure(PostgresDeadlineExceeded(timeout: timeout))) { work.cancel() }
                    return
                }
                try await Task.sleep(for: commitTimeout)
                answer.resume(with: .failure(PostgresCommitOutcomeUnknown(reason: "no answer within \(timeout + commitTimeout)")))
            }
            answer.onResume { timer.cancel() }
        }
    } onCancel: {
        answer.resume(with: .failure(CancellationError()))
    }
}

/// `BEGIN`, `body`, `COMMIT` on one connection, honouring `phase`; nothing more is sent on a
/// connection that closed.
private func transaction<Value: Sendable>(
    _ client: PostgresClient,
    phase: NIOLockedValueBox<TransactionPhase>,
    timeout: Duration,
    logger: Logger,
    _ body: @escaping @Sendable (PostgresConnection) async throws -> Value
) async throws -> Value {
    try await client.withConnection { connection in
        try await connection.query("BEGIN", logger: logger)
        let value: Value
        do {
            value = try await body(connection)
        } catch {
            if !connection.isClosed { _ = try? await connection.query("ROLLBACK", logger: logger) }
            throw error
        }
        let abandoned = phase.withLockedValue { phase -> Bool in
            if phase == .abandoned { return true }
            phase = .committing
            return false
        }
        if abandoned || connection.isClosed {
            if !connection.isClosed { _ = try? await connection.query("ROLLBACK", logger: logger) }
            throw PostgresDeadlineExceeded(timeout: timeout)
        }
        do {
            try await connection.query("COMMIT", logger: logger)
        } catch let error as PSQLError where error.code == .server {
            throw error  // Postgres answered: rolled back
        } catch {
            throw PostgresCommitOutcomeUnknown(reason: String(describing: error))
        }
        return value
    }
}

/// Where a transaction of ``withPostgresTransaction`` stands.
private enum TransactionPhase: Sendable {
    case working
    case committing
    case abandoned
}
