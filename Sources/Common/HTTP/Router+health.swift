import Hummingbird
import Logging

/// A named readiness check: it throws when the dependency does not answer.
public struct ReadinessCheck: Sendable {
    /// The dependency's name, reported when it fails (`postgres`, `redis`).
    public let name: String
    /// Runs the check.
    public let check: @Sendable () async throws -> Void

    /// Creates a check.
    public init(_ name: String, check: @escaping @Sendable () async throws -> Void) {
        self.name = name
        self.check = check
    }
}

/// The JSON body of the health endpoints.
public struct HealthStatus: ResponseCodable, Equatable {
    /// `ok` or `unavailable`.
    public var status: String
    /// Per dependency: `ok` or `unavailable`.
    public var checks: [String: String]
}

extension Router where Context == RegistrarRequestContext {
    /// Adds `GET /health/live` (the process answers) and `GET /health/ready` (every check passes
    /// within `timeout`; otherwise 503 naming the failing dependencies; 503 at once once `gate`
    /// has begun shutting down).
    public func addHealthRoutes(checks: [ReadinessCheck], gate: ShutdownGate? = nil, timeout: Duration = .seconds(2)) {
        self.get("/health/live") { _, _ in HealthStatus(status: "ok", checks: [:]) }
        self.get("/health/ready") { request, context -> Response in
            if gate?.isDraining == true { throw ProblemDetails.unavailable("Shutting down.") }
            let results = await withTaskGroup(of: (String, String?).self) { group in
                for check in checks {
                    group.addTask {
                        do {
                            try await withTimeout(timeout) { try await check.check() }
                            return (check.name, nil)
                        } catch {
                            return (check.name, String(describing: error))
                        }
                    }
                }
                var results: [String: String?] = [:]
                for await (name, error) in group { results[name] = error }
                return results
            }
            let failing = results.filter { $0.value != nil }.keys.sorted()
            if failing.isEmpty {
                return try HealthStatus(status: "ok", checks: results.mapValues { _ in "ok" }).response(from: request, context: context)
            }
            // The causes go to the log only (a TLS failure says which certificate was refused).
            let causes = failing.map { "\($0): \(results[$0].flatMap { $0 } ?? "")" }.joined(separator: "; ")
            context.logger.warning(
                "not ready",
                metadata: ["health.failing": .string(failing.joined(separator: ",")), "health.errors": .string(causes)]
            )
            throw ProblemDetails.unavailable("Not ready: \(failing.joined(separator: ", ")) unavailable.")
        }
    }
}

extension ReadinessCheck {
    /// `redis`: `PING` answers `PONG`.
    public static func redis(_ client: RedisClient) -> ReadinessCheck {
        ReadinessCheck("redis") { try await client.ping() }
    }
}
