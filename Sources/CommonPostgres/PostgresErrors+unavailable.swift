import Common
import PostgresNIO
import _ConnectionPoolModule

extension PSQLError: DependencyUnavailableError {
    /// `Postgres` when the server cannot be reached or the connection or pool went away.
    public var unavailableDependency: String? {
        Self.unreachableCodes.contains(self.code) ? "Postgres" : nil
    }

    private static let unreachableCodes: [PSQLError.Code] = [
        .connectionError, .serverClosedConnection, .clientClosedConnection, .poolClosed, .uncleanShutdown,
    ]
}

extension PostgresTransactionError: DependencyUnavailableError {
    /// The outage behind a failed `BEGIN`, body or `COMMIT`, if it was one.
    public var unavailableDependency: String? {
        let inner = self.beginError ?? self.closureError ?? self.commitError
        return (inner as? any DependencyUnavailableError)?.unavailableDependency
    }
}

extension ConnectionPoolError: DependencyUnavailableError {
    /// `Postgres` when the pool gave up connecting (its circuit breaker tripped) or shut down.
    public var unavailableDependency: String? {
        self == .connectionCreationCircuitBreakerTripped || self == .poolShutdown ? "Postgres" : nil
    }
}
