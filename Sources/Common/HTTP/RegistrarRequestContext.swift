import Hummingbird

/// The request context of every Registrar service: per-request data only (logger with request id).
public struct RegistrarRequestContext: RequestContext {
    /// The largest request body any service accepts; the edge enforces the same limit.
    public static let maxRequestBodyBytes = 64 * 1024

    public var coreContext: CoreRequestContextStorage

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
    }

    public var maxUploadSize: Int { Self.maxRequestBodyBytes }
}
