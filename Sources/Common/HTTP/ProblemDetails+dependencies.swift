import PostgresNIO

extension ProblemDetails {
    /// The 503 for an error that means a dependency is unreachable (Redis or Postgres down,
    /// connection dropped, pool closed), or `nil` for any other error.
    public static func unavailable(for error: any Error) -> ProblemDetails? {
        switch error {
        case let redis as RedisClientError where redis.isTransient:
            return .unavailable("A backing service (Redis) is unavailable; retry shortly.")
        case let postgres as PSQLError where Self.unreachableCodes.contains(postgres.code):
            return .unavailable("A backing service (Postgres) is unavailable; retry shortly.")
        case let transaction as PostgresTransactionError:
            let inner = transaction.beginError ?? transaction.closureError ?? transaction.commitError
            return inner.flatMap { Self.unavailable(for: $0) }
        default:
            return nil
        }
    }

    private static let unreachableCodes: [PSQLError.Code] = [
        .connectionError, .serverClosedConnection, .clientClosedConnection, .poolClosed, .uncleanShutdown,
    ]
}
