/// An error that can mean a backing service is unreachable right now. ``ProblemMiddleware``
/// answers a request that meets one with 503 and `Retry-After`, never 500.
///
/// Common's ``RedisClientError`` conforms; CommonPostgres makes postgres-nio's errors conform, so
/// services that never touch Postgres do not link it.
public protocol DependencyUnavailableError: Error {
    /// The dependency's name for the problem detail (`Redis`, `Postgres`), or nil when this error
    /// is not an outage (a refused query, a protocol error).
    var unavailableDependency: String? { get }
}

extension RedisClientError: DependencyUnavailableError {
    /// `Redis` when the server was unreachable or the connection dropped (``isTransient``).
    public var unavailableDependency: String? { self.isTransient ? "Redis" : nil }
}

extension ProblemDetails {
    /// The 503 for an error that means a dependency is unreachable (Redis or Postgres down,
    /// connection dropped, pool closed), or `nil` for any other error.
    public static func unavailable(for error: any Error) -> ProblemDetails? {
        guard let dependency = (error as? any DependencyUnavailableError)?.unavailableDependency else { return nil }
        return .unavailable("A backing service (\(dependency)) is unavailable; retry shortly.")
    }
}
