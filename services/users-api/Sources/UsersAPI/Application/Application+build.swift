import Common
import CommonPostgres
import Hummingbird
import Logging
import NIOPosix
import PostgresNIO
import Prometheus

/// Builds users-api: its clients (run as services), stores, controllers and routes.
public func buildApplication(
    configuration: UsersAPIConfiguration,
    logger: Logger,
    metrics: PrometheusCollectorRegistry? = nil,
    threadPool: NIOThreadPool = .singleton
) async throws -> some ApplicationProtocol {
    let postgres = configuration.postgres.makeClient(logger: logger)
    let redis = RedisClient(configuration: configuration.redis, logger: logger)
    let hasher = try await PasswordHasher.make(cost: configuration.bcryptCost, threadPool: threadPool)
    let users = UserStore(client: postgres, timeout: configuration.postgres.requestTimeout, logger: logger)
    let codes = ActivationCodeStore(
        redis: redis,
        codeLength: configuration.codeLength,
        codeTTL: configuration.codeTTL,
        maxAttempts: configuration.codeAttempts,
        throttle: configuration.resendThrottle,
        maxFailures: configuration.activationMaxFailures,
        failureWindow: configuration.activationFailureWindow
    )
    let authenticator = Authenticator(users: users, hasher: hasher)
    let registration = RegistrationController(
        users: users,
        outbox: OutboxWriter(logger: logger),
        codes: codes,
        hasher: hasher,
        passwords: PasswordPolicy(minimumLength: configuration.passwordMinLength)
    )

    let router = Router.registrar(
        readiness: [
            ReadinessCheck("postgres") { try await postgres.query("SELECT 1", logger: logger) },
            ReadinessCheck("redis") { try await redis.ping() },
        ],
        metrics: metrics
    )
    registration.addRoutes(to: router)
    ActivationController(users: users, codes: codes, authenticator: authenticator, registration: registration)
        .addRoutes(to: router)
    InternalController(users: users, authenticator: authenticator, token: configuration.internalAPIToken).addRoutes(to: router)
    try DocsController().addRoutes(to: router)

    return registrarApplication(router: router, http: configuration.http, serverName: "users-api", services: [postgres, redis], logger: logger)
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
