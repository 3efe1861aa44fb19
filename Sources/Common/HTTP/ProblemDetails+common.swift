import HTTPTypes

extension ProblemDetails {
    /// 400: the body is not valid JSON or not a JSON object.
    public static func malformedBody(_ detail: String = "The request body must be a JSON object.") -> Self {
        .init(status: .badRequest, code: "malformed_body", title: "Malformed request body", detail: detail)
    }

    /// 422: fields are missing, mistyped or invalid; each is named.
    public static func validation(_ errors: [FieldError]) -> Self {
        let names = errors.map(\.field).joined(separator: ", ")
        return .init(
            status: .unprocessableContent,
            code: "validation_failed",
            title: "Invalid request",
            detail: "Invalid field(s): \(names).",
            errors: errors
        )
    }

    /// 413: the body exceeds the limit.
    public static func bodyTooLarge(limit: Int) -> Self {
        .init(status: .contentTooLarge, code: "body_too_large", title: "Request body too large", detail: "The limit is \(limit) bytes.")
    }

    /// 415: the body is not JSON.
    public static let unsupportedMediaType = Self(
        status: .unsupportedMediaType,
        code: "unsupported_media_type",
        title: "Unsupported media type",
        detail: "Send the body as application/json."
    )

    /// 404 for an unknown path.
    public static let notFound = Self(status: .notFound, code: "not_found", title: "Not found")

    /// 405 for a known path with another method.
    public static let methodNotAllowed = Self(status: .methodNotAllowed, code: "method_not_allowed", title: "Method not allowed")

    /// 503: a dependency is unavailable; the client may retry after `retryAfter` seconds.
    public static func unavailable(_ detail: String, retryAfter: Int = 1) -> Self {
        var headers = HTTPFields()
        headers[.retryAfter] = String(retryAfter)
        return .init(status: .serviceUnavailable, code: "service_unavailable", title: "Service unavailable", detail: detail, headers: headers)
    }

    /// 500: an unexpected failure. The detail is generic: the cause is only logged.
    public static let internalError = Self(
        status: .internalServerError,
        code: "internal_error",
        title: "Internal server error",
        detail: "An unexpected error occurred; it has been logged."
    )
}
