#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The parts of a `scheme://[user[:password]@]host[:port][/path][?query]` URL, percent-decoded.
public struct ConnectionURL: Sendable {
    /// The scheme, lower-cased.
    public var scheme: String
    /// The user name, if any.
    public var user: String?
    /// The password, if any.
    public var password: String?
    /// The host name or address.
    public var host: String
    /// The port, if given.
    public var port: Int?
    /// The path (`/0`, `/app` …).
    public var path: String
    /// The query items.
    public var query: [String: String]

    /// Parses `text` for the variable `key`; the error never repeats credentials.
    public init(_ text: String, key: String, schemes: Set<String>, example: String) throws {
        let fail = { ConfigurationError(key: key, expected: "a URL like \(example)", found: Self.redacted(text)) }
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(), schemes.contains(scheme)
        else { throw fail() }
        guard let host = components.host, !host.isEmpty else { throw fail() }
        if let port = components.port, !(1...65535).contains(port) { throw fail() }
        self.scheme = scheme
        self.user = components.user.flatMap { $0.isEmpty ? nil : $0 }  // URLComponents decodes (once)
        self.password = components.password
        self.host = host
        self.port = components.port
        self.path = components.path
        var query: [String: String] = [:]
        for item in components.queryItems ?? [] { query[item.name] = item.value ?? "" }
        self.query = query
    }

    /// `text` with any password replaced by `***`, safe to print.
    public static func redacted(_ text: String) -> String {
        guard let at = text.lastIndex(of: "@"), let schemeEnd = text.firstRange(of: "://") else { return text }
        let userInfo = text[schemeEnd.upperBound..<at]
        guard let colon = userInfo.firstIndex(of: ":") else { return text }
        return String(text[..<text.index(after: colon)]) + "***" + String(text[at...])
    }
}
