import HTTPTypes
import Hummingbird
import Logging

extension HTTPField.Name {
    /// `X-Request-ID`, set by the edge and echoed by every service.
    public static let requestID = Self("X-Request-ID")!
}

/// Puts the caller's `X-Request-ID` (or Hummingbird's own id) in the logger as `request.id` and
/// echoes it in the response, so one id follows a request through the edge and every service.
public struct RequestIDMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Creates the middleware.
    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let id = request.headers[.requestID].flatMap(Self.sanitized) ?? context.id
        context.logger[metadataKey: "request.id"] = .string(id)
        var response = try await next(request, context)
        response.headers[.requestID] = id
        return response
    }

    /// Accepts ids of 1…128 visible ASCII characters without spaces or quotes; anything else is replaced.
    static func sanitized(_ id: String) -> String? {
        guard (1...128).contains(id.utf8.count), id.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") }) else {
            return nil
        }
        return id
    }
}
