import Common
import PostgresNIO
import _ConnectionPoolModule

extension PSQLError: DependencyUnavailableError {
    /// `Postgres` when the server cannot be reached or the connection or pool went away.
    public var unavailableDependency: String? {
        if Self.unreachableCodes.contains(self.code) { return "Postgres" }
        // A server that is shutting down or crashed (57P01 admin_shutdown, 57P02 crash_shutdown,
        // 57P03 cannot_connect_now) or a connection exception (class 08) is an outage too.
        if self.code == .server, let state = self.serverInfo?[.sqlState], ["57P01", "57P02", "57P03"].contains(state) || state.hasPrefix("08") {
            return "Postgres"
        }
        return nil
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
