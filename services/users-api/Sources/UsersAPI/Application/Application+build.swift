import Common
import Hummingbird
import Logging
import PostgresNIO
import Prometheus

/// Builds users-api: its clients (run as services), readiness checks and routes.
public func buildApplication(
    configuration: UsersAPIConfiguration,
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
        configuration: .init(address: .hostname(configuration.http.host, port: configuration.http.port), serverName: "users-api"),
        logger: logger
    )
    app.addServices(postgres, redis)
    return app
}

/// Applies users-api's pending migrations (the `migrate` subcommand and the test suites).
/// Needs only `DATABASE_URL`.
public func runMigrations(postgres settings: PostgresSettings, logger: Logger) async throws -> [String] {
    let postgres = settings.makeClient(logger: logger)
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { await postgres.run() }
        defer { group.cancelAll() }
        return try await Migrator(client: postgres, logger: logger).migrate(UsersMigrations.all())
    }
}
