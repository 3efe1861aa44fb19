import Common
import Hummingbird
import Logging
import Prometheus

/// Builds the SMTP mock: its Redis client, the stream consumer (both run as services) and routes.
public func buildApplication(
    configuration: SMTPMockConfiguration,
    logger: Logger,
    metrics: PrometheusCollectorRegistry? = nil,
    gate: ShutdownGate? = nil
) async throws -> some ApplicationProtocol {
    let redis = RedisClient(configuration: configuration.redis, logger: logger)
    let inbox = Inbox(redis: redis, stream: configuration.stream, retention: configuration.retention)
    let mailMetrics = SMTPMockMetrics()
    let postman = Postman(inbox: inbox, metrics: mailMetrics, logger: logger)
    let consumer = StreamConsumer(configuration: configuration, redis: redis, postman: postman, metrics: mailMetrics, logger: logger)

    let router = Router.registrar(readiness: [.redis(redis)], gate: gate, metrics: metrics)
    MessagesController(inbox: inbox, postman: postman).addRoutes(to: router)

    return registrarApplication(
        router: router,
        http: configuration.http,
        serverName: "smtp-mock",
        services: [redis, consumer, SMTPListener(settings: configuration.smtp, postman: postman, logger: logger)],
        logger: logger
    )
}
