import HTTPTypes

extension ProblemDetails {
    /// 401 with `WWW-Authenticate: Basic`: credentials are missing or unreadable.
    public static func basicAuthRequired(_ detail: String) -> Self {
        var headers = HTTPFields()
        headers[.wwwAuthenticate] = "Basic realm=\"registrar\", charset=\"UTF-8\""
        return .init(status: .unauthorized, code: "authentication_required", title: "Authentication required", detail: detail, headers: headers)
    }

    /// 401 with `WWW-Authenticate: Basic`: unknown email or wrong password (one answer for both).
    public static var invalidCredentials: Self {
        var problem = Self.basicAuthRequired("The email or password is incorrect.")
        problem.code = "invalid_credentials"
        problem.title = "Invalid credentials"
        return problem
    }

    /// 429 with `Retry-After` (whole seconds, at least 1).
    public static func tooManyRequests(code: String, title: String, detail: String, retryAfter: Duration?) -> Self {
        var headers = HTTPFields()
        if let retryAfter {
            headers[.retryAfter] = String(max(1, Int((Double(retryAfter.wholeMilliseconds) / 1000).rounded(.up))))
        }
        return .init(status: .tooManyRequests, code: code, title: title, detail: detail, headers: headers)
    }
}
