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

    /// Accepts ids of 1…128 characters from `[A-Za-z0-9._-]`, anything else is replaced: the
    /// edge's rule (`^[A-Za-z0-9._-]{1,128}$`, deploy/local/nginx.conf.template), so an id the
    /// edge passes on is never replaced here and one it replaced never reaches a service.
    static func sanitized(_ id: String) -> String? {
        guard (1...128).contains(id.utf8.count), id.utf8.allSatisfy(Self.isAllowed) else { return nil }
        return id
    }

    private static func isAllowed(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
            true
        default:
            false
        }
    }
}
