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
    metrics: PrometheusCollectorRegistry? = nil,
    gate: ShutdownGate? = nil
) async throws -> some ApplicationProtocol {
    let postgres = try configuration.postgres.makeClient(logger: logger)
    // LISTEN needs a session of its own on Postgres itself (DATABASE_LISTEN_URL, when the pool
    // goes through a transaction pooler); otherwise it shares the pool.
    let listener = configuration.listenPostgres == configuration.postgres ? postgres : try configuration.listenPostgres.makeClient(logger: logger)
    let redis = RedisClient(configuration: configuration.redis, logger: logger)
    let mailerMetrics = MailerMetrics()
    let transport: any MailTransport
    switch configuration.transport {
    case .stream:
        transport = StreamTransport(
            redis: redis,
            stream: configuration.stream,
            maxBacklog: configuration.streamMaxBacklog,
            replicaAcknowledgementTimeout: configuration.replicaAcknowledgementTimeout,
            metrics: mailerMetrics
        )
    case .smtp(let settings):
        transport = try SMTPTransport(settings: settings, logger: logger)
    }
    let templates = try MailTemplates(directories: [MailTemplates.builtInDirectory, configuration.templatesDirectory].compactMap { $0 })
    let composer = MailComposer(from: configuration.mailFrom, templates: templates)

    let router = Router.registrar(
        readiness: [
            .postgres(postgres, settings: configuration.postgres, logger: logger),
            .redis(redis),
        ],
        gate: gate,
        metrics: metrics
    )

    return registrarApplication(
        router: router,
        http: configuration.http,
        serverName: "mailer",
        services: (listener === postgres ? [postgres] : [postgres, listener]) + [
            redis,
            OutboxDispatcher(
                configuration: configuration,
                postgres: postgres,
                listener: listener,
                redis: redis,
                transport: transport,
                composer: composer,
                metrics: mailerMetrics,
                logger: logger
            ),
        ],
        logger: logger
    )
}
