import Hummingbird
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle
import UnixSignals

/// Readiness that fails first on SIGTERM, the order a load balancer or Kubernetes needs: the
/// moment the signal arrives `/health/ready` answers 503, requests keep being served for
/// `drainPeriod` (`SHUTDOWN_DRAIN_SECONDS`) while the balancer notices, and only then does the
/// server stop accepting and finish what is in flight (``ApplicationProtocol/runService(gate:)``).
public final class ShutdownGate: Service, Sendable {
    private let draining = NIOLockedValueBox(false)
    /// How long requests are still served after readiness failed.
    public let drainPeriod: Duration

    /// Creates a gate that drains for `drainPeriod`.
    public init(drainPeriod: Duration) {
        self.drainPeriod = drainPeriod
    }

    /// Whether shutdown has begun (readiness then fails).
    public var isDraining: Bool { self.draining.withLockedValue { $0 } }

    /// Waits for graceful shutdown, then fails readiness and holds the shutdown for the drain period.
    public func run() async throws {
        try? await gracefulShutdown()
        self.draining.withLockedValue { $0 = true }
        try? await Task.sleep(for: self.drainPeriod)
    }
}

extension ApplicationProtocol {
    /// Runs the application until SIGTERM or SIGINT, behind `gate`: the gate is shut down first
    /// (readiness fails at once, requests are served through its drain period), then the
    /// application (no new connections; in-flight requests finish; then its services stop).
    public func runService(gate: ShutdownGate) async throws {
        let group = ServiceGroup(
            configuration: .init(services: [self, gate], gracefulShutdownSignals: [.sigterm, .sigint], logger: self.logger)
        )
        try await group.run()
    }
}
