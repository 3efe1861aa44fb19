import Hummingbird
import Logging
import Prometheus
import ServiceLifecycle

extension Router where Context == RegistrarRequestContext {
    /// ``registrar()`` with the routes every service serves: `/health/live`, `/health/ready` for
    /// `readiness`, and `/metrics` when a registry is given.
    /// Readiness fails at once when `gate` begins shutting down.
    public static func registrar(
        readiness: [ReadinessCheck],
        gate: ShutdownGate? = nil,
        metrics: PrometheusCollectorRegistry?
    ) -> Router<RegistrarRequestContext> {
        let router = Router.registrar()
        router.addHealthRoutes(checks: readiness, gate: gate)
        if let metrics { router.addMetricsRoute(registry: metrics) }
        return router
    }
}

/// A service's application: `router` served on `http`, with `services` (clients, loops) run in
/// the same `ServiceGroup` — started before the server, stopped after it on SIGTERM/SIGINT.
public func registrarApplication(
    router: Router<RegistrarRequestContext>,
    http: HTTPServerSettings,
    serverName: String,
    services: [any Service],
    logger: Logger
) -> some ApplicationProtocol {
    Application(
        router: router,
        configuration: .init(address: .hostname(http.host, port: http.port), serverName: serverName),
        services: services,
        logger: logger
    )
}
