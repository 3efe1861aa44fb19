import HTTPTypes
import Hummingbird
import NIOCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// An RFC 9457 problem: the one error type every HTTP service throws for a client-visible failure.
///
/// Serialised as `application/problem+json` with `type`, `title`, `status`, `detail`, a stable
/// machine `code`, and, for validation failures, `errors` naming each field.
public struct ProblemDetails: Error, HTTPResponseError, Sendable, Equatable {
    /// One invalid field of a request body.
    public struct FieldError: Codable, Sendable, Equatable {
        /// The field's name, as the client sent it (`email`, `password`, `code`).
        public var field: String
        /// What is wrong with it.
        public var message: String

        /// Creates a field error.
        public init(field: String, message: String) {
            self.field = field
            self.message = message
        }
    }

    /// The HTTP status.
    public var status: HTTPResponse.Status
    /// A stable machine-readable code in `snake_case`, e.g. `invalid_activation_code`.
    public var code: String
    /// A short human summary, constant for a given `code`.
    public var title: String
    /// An explanation of this occurrence; never contains secrets or database text.
    public var detail: String?
    /// Field-level validation errors (for 422).
    public var errors: [FieldError]
    /// Extra response headers (`WWW-Authenticate`, `Retry-After`).
    public var headers: HTTPFields

    /// Creates a problem.
    public init(
        status: HTTPResponse.Status,
        code: String,
        title: String,
        detail: String? = nil,
        errors: [FieldError] = [],
        headers: HTTPFields = [:]
    ) {
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.errors = errors
        self.headers = headers
    }

    /// The problem `type` URI: a URN naming the code, stable across deployments.
    public var type: String { "urn:registrar:problem:\(self.code)" }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        self.response(allocator: ByteBufferAllocator())
    }

    /// The full response, for callers outside a router (middleware, tests).
    public func response(allocator: ByteBufferAllocator) -> Response {
        let body = Body(
            type: self.type,
            title: self.title,
            status: Int(self.status.code),
            detail: self.detail,
            code: self.code,
            errors: self.errors.isEmpty ? nil : self.errors
        )
        let data = (try? Self.encoder.encode(body)) ?? Data("{\"code\":\"internal_error\"}".utf8)
        var headers = self.headers
        headers[.contentType] = "application/problem+json"
        headers[.cacheControl] = "no-store"
        return Response(status: self.status, headers: headers, body: .init(byteBuffer: allocator.buffer(bytes: data)))
    }

    /// The JSON body of a problem, also used by clients and tests to decode one.
    public struct Body: Codable, Sendable, Equatable {
        /// The problem type URI.
        public var type: String
        /// The summary.
        public var title: String
        /// The HTTP status code.
        public var status: Int
        /// The explanation.
        public var detail: String?
        /// The machine code.
        public var code: String
        /// Field errors, when any.
        public var errors: [FieldError]?
    }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()
}
