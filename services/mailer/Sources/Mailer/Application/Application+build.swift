import Common
import CommonPostgres
import Hummingbird
import Logging
import PostgresNIO
import Prometheus

/// Builds the mailer: its clients and the outbox dispatcher (run as services), health and metrics routes.
public func buildApplication(
    configuration: MailerConfiguration,
    logger: Logger,
    metrics: PrometheusCollectorRegistry? = nil
) async throws -> some ApplicationProtocol {
    let postgres = configuration.postgres.makeClient(logger: logger)
    let redis = RedisClient(configuration: configuration.redis, logger: logger)

    let router = Router.registrar(
        readiness: [
            ReadinessCheck("postgres") { try await postgres.query("SELECT 1", logger: logger) },
            ReadinessCheck("redis") { try await redis.ping() },
        ],
        metrics: metrics
    )

    return registrarApplication(
        router: router,
        http: configuration.http,
        serverName: "mailer",
        services: [postgres, redis, OutboxDispatcher(configuration: configuration, postgres: postgres, redis: redis, logger: logger)],
        logger: logger
    )
}
