import Common

/// Database work of a request that did not finish within `DATABASE_TIMEOUT_MS`: Postgres is
/// unreachable or too slow. Answered 503 with `Retry-After`.
public struct PostgresDeadlineExceeded: DependencyUnavailableError, CustomStringConvertible {
    /// The deadline that passed.
    public let timeout: Duration

    /// Always `Postgres`.
    public var unavailableDependency: String? { "Postgres" }
    /// Names the deadline, for logs.
    public var description: String { "Postgres did not answer within \(self.timeout)" }
}

/// Runs `operation` (queries, a transaction) within `timeout`, cancelling it after that.
///
/// While Postgres is unreachable postgres-nio queues requests until its circuit breaker trips
/// (15 s or more, measured 67 s for the first request); a caller waiting on an HTTP answer gets a
/// 503 after `timeout` instead.
public func withPostgresDeadline<Value: Sendable>(
    _ timeout: Duration,
    _ operation: @escaping @Sendable () async throws -> Value
) async throws -> Value {
    do {
        return try await withTimeout(timeout, operation: operation)
    } catch let error as TimeoutError where error.timeout == timeout {
        throw PostgresDeadlineExceeded(timeout: timeout)
    }
}
