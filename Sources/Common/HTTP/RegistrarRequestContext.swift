import Hummingbird

/// The request context of every Registrar service: per-request data only (logger with request id).
public struct RegistrarRequestContext: RequestContext {
    /// The largest request body any service accepts; the edge enforces the same limit.
    public static let maxRequestBodyBytes = 64 * 1024

    public var coreContext: CoreRequestContextStorage
    /// The peer's IP address (the edge's, behind it: use `X-Real-IP` from the edge there).
    public let remoteAddress: String?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress?.ipAddress
    }

    public var maxUploadSize: Int { Self.maxRequestBodyBytes }
}
