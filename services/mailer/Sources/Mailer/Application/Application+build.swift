import Common
import Hummingbird
import Logging
import PostgresNIO
import Prometheus

/// Builds the mailer: its clients (run as services) and its health and metrics routes.
public func buildApplication(
    configuration: MailerConfiguration,
    logger: Logger,
    metrics: PrometheusCollectorRegistry? = nil
) async throws -> some ApplicationProtocol {
    let postgres = configuration.postgres.makeClient(logger: logger)
    let redis = RedisClient(configuration: configuration.redis, logger: logger)

    let router = Router.registrar()
    router.addHealthRoutes(checks: [
        ReadinessCheck("postgres") { try await postgres.query("SELECT 1", logger: logger) },
        ReadinessCheck("redis") { try await redis.ping() },
    ])
    if let metrics { router.addMetricsRoute(registry: metrics) }

    var app = Application(
        router: router,
        configuration: .init(address: .hostname(configuration.http.host, port: configuration.http.port), serverName: "mailer"),
        logger: logger
    )
    app.addServices(postgres, redis, OutboxDispatcher(configuration: configuration, postgres: postgres, redis: redis, logger: logger))
    return app
}
