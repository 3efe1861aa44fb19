import Hummingbird
import Logging

extension Router where Context == RegistrarRequestContext {
    /// A router with the middleware every Registrar service runs, outermost first: request ids,
    /// problem+json errors, HTTP metrics, request logging (method and path only, never headers).
    public static func registrar() -> Router<RegistrarRequestContext> {
        let router = Router(context: RegistrarRequestContext.self)
        router.add(middleware: RequestIDMiddleware())
        router.add(middleware: ProblemMiddleware())
        router.add(middleware: MetricsMiddleware())
        router.add(middleware: LogRequestsMiddleware(.debug))
        return router
    }
}
