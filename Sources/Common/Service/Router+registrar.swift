import Hummingbird
import Logging

extension Router where Context == RegistrarRequestContext {
    /// A router with the middleware every Registrar service runs, outermost first: request ids,
    /// problem+json errors, HTTP metrics, request logging (method and path only, never headers).
    /// Every GET route answers HEAD too (RFC 9110 §9.3.2: the same headers, no body).
    public static func registrar() -> Router<RegistrarRequestContext> {
        let router = Router(context: RegistrarRequestContext.self, options: .autoGenerateHeadEndpoints)
        router.add(middleware: RequestIDMiddleware())
        router.add(middleware: ProblemMiddleware())
        router.add(middleware: MetricsMiddleware())
        router.add(middleware: LogRequestsMiddleware(.debug))
        return router
    }
}
