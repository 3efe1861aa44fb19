import Common
import Hummingbird
import Logging
import Prometheus

/// Builds auth-api: its Redis client (run as a service), readiness checks and routes.
public func buildApplication(
    configuration: AuthAPIConfiguration,
    logger: Logger,
    metrics: PrometheusCollectorRegistry? = nil
) async throws -> some ApplicationProtocol {
    let redis = RedisClient(configuration: configuration.redis, logger: logger)

    let router = Router.registrar()
    router.addHealthRoutes(checks: [ReadinessCheck("redis") { try await redis.ping() }])
    if let metrics { router.addMetricsRoute(registry: metrics) }

    var app = Application(
        router: router,
        configuration: .init(address: .hostname(configuration.http.host, port: configuration.http.port), serverName: "auth-api"),
        logger: logger
    )
    app.addServices(redis)
    return app
}
