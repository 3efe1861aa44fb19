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
    /// within `timeout`; otherwise 503 naming the failing dependencies).
    public func addHealthRoutes(checks: [ReadinessCheck], timeout: Duration = .seconds(2)) {
        self.get("/health/live") { _, _ in HealthStatus(status: "ok", checks: [:]) }
        self.get("/health/ready") { request, context -> Response in
            let results = await withTaskGroup(of: (String, Bool).self) { group in
                for check in checks {
                    group.addTask {
                        do {
                            try await withTimeout(timeout) { try await check.check() }
                            return (check.name, true)
                        } catch {
                            return (check.name, false)
                        }
                    }
                }
                var results: [String: String] = [:]
                for await (name, ok) in group { results[name] = ok ? "ok" : "unavailable" }
                return results
            }
            let failing = results.filter { $0.value != "ok" }.keys.sorted()
            if failing.isEmpty {
                return try HealthStatus(status: "ok", checks: results).response(from: request, context: context)
            }
            context.logger.warning("not ready", metadata: ["health.failing": .string(failing.joined(separator: ","))])
            throw ProblemDetails.unavailable("Not ready: \(failing.joined(separator: ", ")) unavailable.")
        }
    }
}
