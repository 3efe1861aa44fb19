import Common
import HTTPTypes

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The token of an `Authorization: Bearer` header (RFC 6750). Anything else — no header, another
/// scheme, an empty or malformed token — is a 401 with `WWW-Authenticate: Bearer`, never a 403.
struct BearerToken: Sendable {
    let value: String

    init(headers: HTTPFields) throws {
        guard let header = headers[.authorization] else {
            throw Self.unauthorized(detail: "Send the token from /v1/users/login as `Authorization: Bearer <token>`.", invalid: false)
        }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw Self.unauthorized(detail: "The Authorization header must use the Bearer scheme.", invalid: false)
        }
        let token = String(parts[1].trimmingWhitespace())
        // Our tokens are 43 characters of base64url; nothing else can be one.
        guard token.utf8.count == 43, token.utf8.allSatisfy({ Self.alphabet.contains($0) }) else {
            throw Self.unauthorized(detail: "The token is malformed.", invalid: true)
        }
        self.value = token
    }

    private static let alphabet = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// 401 `invalid_token` (`WWW-Authenticate: Bearer`, with `error="invalid_token"` when a token was sent).
    static func unauthorized(detail: String, invalid: Bool) -> ProblemDetails {
        var headers = HTTPFields()
        headers[.wwwAuthenticate] = invalid ? "Bearer realm=\"registrar\", error=\"invalid_token\"" : "Bearer realm=\"registrar\""
        return ProblemDetails(status: .unauthorized, code: "invalid_token", title: "Invalid or missing token", detail: detail, headers: headers)
    }
}
