import HTTPTypes
import Hummingbird

/// `{"status":"accepted"}`, the API's 202 body (registration, resend, forgotten password, email change).
public struct Accepted: ResponseEncodable, Sendable {
    public var status = "accepted"

    /// The body.
    public init() {}
}

/// `{"status":"ok"}`, the API's 200 body of activation and password reset.
public struct OK: ResponseEncodable, Sendable {
    public var status = "ok"

    /// The body.
    public init() {}
}

extension ResponseEncodable {
    /// Encodes with the context's encoder and sets `status`.
    public func response(status: HTTPResponse.Status, from request: Request, context: some RequestContext) throws -> Response {
        var response = try self.response(from: request, context: context)
        response.status = status
        return response
    }
}
