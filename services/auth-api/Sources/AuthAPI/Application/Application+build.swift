import AsyncHTTPClient
import Common
import Hummingbird
import Logging
import NIOPosix
import Prometheus

/// Builds auth-api: its Redis and HTTP clients (run as services), stores, controllers and routes.
public func buildApplication(
    configuration: AuthAPIConfiguration,
    logger: Logger,
    metrics: PrometheusCollectorRegistry? = nil,
    gate: ShutdownGate? = nil
) async throws -> some ApplicationProtocol {
    let redis = RedisClient(configuration: configuration.redis, logger: logger)
    var httpConfiguration = HTTPClient.Configuration(timeout: .init(connect: .seconds(1), read: .init(configuration.usersAPITimeout)))
    httpConfiguration.connectionPool.retryConnectionEstablishment = false
    httpConfiguration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 32
    let http = HTTPClient(eventLoopGroupProvider: .shared(MultiThreadedEventLoopGroup.singleton), configuration: httpConfiguration)
    let users = UsersAPIClient(
        http: http,
        baseURL: configuration.usersAPIURL,
        token: configuration.internalAPIToken,
        timeout: configuration.usersAPITimeout
    )
    let sessions = SessionStore(
        redis: redis,
        ttl: configuration.sessionTTL,
        idleTimeout: configuration.sessionIdleTimeout,
        maxPerUser: configuration.sessionMaxPerUser
    )

    let router = Router.registrar(readiness: [.redis(redis)], gate: gate, metrics: metrics)
    LoginController(users: users, sessions: sessions, proxies: configuration.trustedProxies).addRoutes(to: router)
    // Every Bearer route: one authenticator, the session in the context.
    let authenticated = router.group(context: SessionRequestContext.self).add(middleware: BearerAuthenticator(sessions: sessions))
    SessionsController(users: users, sessions: sessions).addRoutes(to: authenticated)
    AccountController(users: users, sessions: sessions, proxies: configuration.trustedProxies).addRoutes(to: authenticated)

    return registrarApplication(
        router: router,
        http: configuration.http,
        serverName: "auth-api",
        services: [redis, HTTPClientService(client: http)],
        logger: logger
    )
}
