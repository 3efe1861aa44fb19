import HTTPTypes

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Credentials from an `Authorization: Basic` header (RFC 7617), parsed strictly.
public struct BasicCredentials: Sendable, Equatable {
    /// The user part (an email here), trimmed.
    public var username: String
    /// The password: everything after the first `:`, which may itself contain `:`.
    public var password: String

    /// Creates credentials.
    public init(username: String, password: String) {
        self.username = username
        self.password = password
    }

    /// Parses `headers`; a missing header, another scheme, bad base64, invalid UTF-8 or no `:`
    /// throws a 401 asking for Basic.
    public init(headers: HTTPFields) throws {
        guard let header = headers[.authorization] else {
            throw ProblemDetails.basicAuthRequired("Send your email and password with HTTP Basic authentication.")
        }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "basic" else {
            throw ProblemDetails.basicAuthRequired("The Authorization header must use the Basic scheme.")
        }
        let encoded = String(parts[1].trimmingWhitespace())
        guard encoded.count % 4 == 0, let data = Data(base64Encoded: encoded), let decoded = String(validating: data, as: UTF8.self)
        else {
            throw ProblemDetails.basicAuthRequired("The Basic credentials are not valid base64 of UTF-8 text.")
        }
        guard let colon = decoded.firstIndex(of: ":") else {
            throw ProblemDetails.basicAuthRequired("The Basic credentials must be email:password.")
        }
        self.username = String(decoded[..<colon].trimmingWhitespace())
        self.password = String(decoded[decoded.index(after: colon)...])
    }
}
