/// A configuration value that cannot be used; the process prints it as one line and exits.
public struct ConfigurationError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The environment variable at fault.
    public let key: String
    /// What was expected, in words.
    public let expected: String
    /// The value that was found, if it may be shown (secrets are never echoed).
    public let found: String?

    /// Creates an error for `key`.
    public init(key: String, expected: String, found: String?) {
        self.key = key
        self.expected = expected
        self.found = found
    }

    public var description: String {
        if let found {
            return "invalid \(self.key)=\"\(found)\": expected \(self.expected)"
        }
        return "invalid \(self.key): expected \(self.expected)"
    }
}
