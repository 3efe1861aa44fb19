/// An error that can mean a backing service is unreachable right now. ``ProblemMiddleware``
/// answers a request that meets one with 503 and `Retry-After`, never 500.
///
/// Common's ``RedisClientError`` conforms; CommonPostgres makes postgres-nio's errors conform, so
/// services that never touch Postgres do not link it.
public protocol DependencyUnavailableError: Error {
    /// The dependency's name for the problem detail (`Redis`, `Postgres`), or nil when this error
    /// is not an outage (a refused query, a protocol error).
    var unavailableDependency: String? { get }

    /// Whether the work may have been done even so (a lost `COMMIT` answer): the 503 then says
    /// `outcome_unknown` instead of promising that nothing was done.
    var outcomeUnknown: Bool { get }
}

extension DependencyUnavailableError {
    /// Outages happen before the work is done, unless an error says otherwise.
    public var outcomeUnknown: Bool { false }
}

extension RedisClientError: DependencyUnavailableError {
    /// `Redis` when the server was unreachable or the connection dropped (``isTransient``).
    public var unavailableDependency: String? { self.isTransient ? "Redis" : nil }
}

extension RedisServerError: DependencyUnavailableError {
    /// `Redis` when the server refused the command for a state that passes: out of memory under
    /// `noeviction` (`OOM`), still loading its data after a restart (`LOADING`), a replica or a
    /// primary without its replicas (`READONLY`, `MASTERDOWN`, `NOREPLICAS`), a script running
    /// too long (`BUSY`), or `TRYAGAIN`. Any other refusal is a bug, not an outage.
    public var unavailableDependency: String? {
        Self.transientCodes.contains(self.code) ? "Redis" : nil
    }

    private static let transientCodes: Set<String> = ["OOM", "LOADING", "READONLY", "MASTERDOWN", "NOREPLICAS", "BUSY", "TRYAGAIN"]
}

extension ProblemDetails {
    /// The 503 for an error that means a dependency is unreachable (Redis or Postgres down,
    /// connection dropped, pool closed), or `nil` for any other error.
    public static func unavailable(for error: any Error) -> ProblemDetails? {
        guard let outage = error as? any DependencyUnavailableError, let dependency = outage.unavailableDependency else { return nil }
        guard outage.outcomeUnknown else { return .unavailable("A backing service (\(dependency)) is unavailable; retry shortly.") }
        var problem = ProblemDetails.unavailable(
            "\(dependency) failed while saving this request: it may or may not have been done. If a confirmation or code arrives, it was."
        )
        problem.code = "outcome_unknown"
        problem.title = "Outcome unknown"
        return problem
    }
}
