import Common
import CommonPostgres
import Hummingbird
import Logging
import PostgresNIO
import Prometheus

/// Builds users-api: its clients (run as services), stores, controllers and routes.
public func buildApplication(
    configuration: UsersAPIConfiguration,
    logger: Logger,
    metrics: PrometheusCollectorRegistry? = nil,
    gate: ShutdownGate? = nil
) async throws -> some ApplicationProtocol {
    let postgres = try configuration.postgres.makeClient(logger: logger)
    let redis = RedisClient(configuration: configuration.redis, logger: logger)
    let scheduler = BcryptScheduler(threads: configuration.bcryptThreads, maxWait: configuration.bcryptMaxWait)
    let hasher = try await PasswordHasher.make(cost: configuration.bcryptCost, scheduler: scheduler)
    let users = UserStore(client: postgres, timeout: configuration.postgres.requestTimeout, logger: logger)
    let limits = FixedWindowLimits(redis: redis)
    // Activation, password-reset and email-change codes: the same rules, keys of their own.
    func codeStore(_ purpose: CodeStore.Purpose) -> CodeStore {
        CodeStore(
            purpose: purpose,
            redis: redis,
            codeLength: purpose == .passwordReset ? configuration.resetCodeLength : configuration.codeLength,
            codeTTL: configuration.codeTTL,
            maxAttempts: configuration.codeAttempts,
            throttle: configuration.resendThrottle,
            maxFailures: configuration.activationMaxFailures,
            failureWindow: configuration.activationFailureWindow
        )
    }
    let codes = codeStore(.activation)
    let resets = codeStore(.passwordReset)
    let emailChanges = codeStore(.emailChange)
    let credentialGuard = CredentialGuard(
        redis: redis,
        pairLimit: configuration.loginMaxFailures,
        clientLimit: configuration.clientMaxFailures,
        window: configuration.loginFailureWindow,
        accountLimit: configuration.accountMaxFailures,
        accountWindow: configuration.accountFailureWindow,
        knownClientTTL: .seconds(30 * 86400)
    )
    let authenticator = Authenticator(users: users, hasher: hasher, guardrail: credentialGuard)
    let mailer = VerificationMailer(
        outbox: OutboxWriter(logger: logger),
        codes: codes,
        limits: limits,
        maxPerRecipientPerDay: configuration.mailMaxPerRecipientPerDay,
        maxPerMinute: configuration.mailMaxPerMinute
    )
    let passwords = PasswordPolicy(minimumLength: configuration.passwordMinLength)
    let effects = AccountEffects(sessions: AccountSessions(redis: redis), activations: codes, resets: resets, emailChanges: emailChanges)
    let passwordWriter = PasswordWriter(users: users, mailer: mailer, effects: effects)

    let router = Router.registrar(
        readiness: [
            .postgres(postgres, settings: configuration.postgres, logger: logger),
            .redis(redis),
        ],
        gate: gate,
        metrics: metrics
    )
    RegistrationController(
        users: users,
        mailer: mailer,
        codes: codes,
        hasher: hasher,
        passwords: passwords,
        limits: limits,
        maxPerClient: configuration.registrationMaxPerAddress,
        clientWindow: configuration.registrationWindow,
        proxies: configuration.trustedProxies
    ).addRoutes(to: router)
    ActivationController(users: users, codes: codes, authenticator: authenticator, mailer: mailer, proxies: configuration.trustedProxies)
        .addRoutes(to: router)
    PasswordResetController(
        users: users,
        resets: resets,
        passwordWriter: passwordWriter,
        mailer: mailer,
        hasher: hasher,
        passwords: passwords,
        limits: limits,
        maxPerClient: configuration.registrationMaxPerAddress,
        clientWindow: configuration.registrationWindow,
        proxies: configuration.trustedProxies
    ).addRoutes(to: router)
    InternalController(
        users: users,
        authenticator: authenticator,
        account: AccountController(
            users: users,
            authenticator: authenticator,
            emailChanges: emailChanges,
            effects: effects,
            passwordWriter: passwordWriter,
            mailer: mailer,
            hasher: hasher,
            passwords: passwords
        ),
        token: configuration.internalAPIToken
    ).addRoutes(to: router)
    try DocsController(assetsDirectory: configuration.swaggerUIDirectory, logger: logger).addRoutes(to: router)

    return registrarApplication(
        router: router,
        http: configuration.http,
        serverName: "users-api",
        services: [
            postgres, redis, scheduler,
            RetentionJob(
                postgres: postgres,
                codes: codes,
                interval: configuration.retentionInterval,
                outboxRetention: configuration.outboxRetention,
                pendingUserRetention: configuration.pendingUserRetention,
                logger: logger
            ),
        ],
        logger: logger
    )
}

/// Applies users-api's pending migrations (the `migrate` subcommand and the test suites).
/// Needs only `DATABASE_URL`.
/// A TLS failure is reported as one line naming the cause (``PostgresTLSFailure``).
public func runMigrations(postgres settings: PostgresSettings, logger: Logger) async throws -> [String] {
    try await settings.probe(timeout: .seconds(10), logger: logger)
    let postgres = try settings.makeClient(logger: logger)
    do {
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await postgres.run() }
            defer { group.cancelAll() }
            return try await Migrator(client: postgres, logger: logger).migrate(UsersMigrations.all())
        }
    } catch {
        throw PostgresTLSFailure(error, settings: settings) ?? error
    }
}
