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
    return try await withThrowingTaskGroup(of: TransactionOutcome<Value>.self) { group in
        group.addTask {
            try await client.withConnection { connection in
                try await connection.query("BEGIN", logger: logger)
                let value: Value
                do {
                    value = try await body(connection)
                } catch {
                    _ = try? await connection.query("ROLLBACK", logger: logger)
                    throw error
                }
                let abandoned = phase.withLockedValue { phase -> Bool in
                    if phase == .abandoned { return true }
                    phase = .committing
                    return false
                }
                if abandoned {
                    _ = try? await connection.query("ROLLBACK", logger: logger)
                    throw PostgresDeadlineExceeded(timeout: timeout)
                }
                do {
                    try await connection.query("COMMIT", logger: logger)
                } catch let error as PSQLError where error.code == .server {
                    throw error  // Postgres answered: rolled back
                } catch {
                    throw PostgresCommitOutcomeUnknown(reason: String(describing: error))
                }
                return .done(value)
            }
        }
        group.addTask {
            try await Task.sleep(for: timeout)
            return .deadline
        }
        while let outcome = try await group.next() {
            switch outcome {
            case .done(let value):
                group.cancelAll()
                return value
            case .deadline:
                let committing = phase.withLockedValue { phase -> Bool in
                    if phase == .committing { return true }
                    phase = .abandoned
                    return false
                }
                guard committing else {
                    group.cancelAll()
                    throw PostgresDeadlineExceeded(timeout: timeout)
                }
                group.addTask {
                    try await Task.sleep(for: commitTimeout)
                    throw PostgresCommitOutcomeUnknown(reason: "no answer within \(timeout + commitTimeout)")
                }
            }
        }
        throw PostgresDeadlineExceeded(timeout: timeout)
    }
}

/// What finished first in ``withPostgresTransaction``: the transaction, or the deadline.
private enum TransactionOutcome<Value: Sendable>: Sendable {
    case done(Value)
    case deadline
}

/// Where a transaction of ``withPostgresTransaction`` stands.
private enum TransactionPhase: Sendable {
    case working
    case committing
    case abandoned
}
