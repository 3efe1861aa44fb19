import Logging

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Typed access to environment variables, failing with a ``ConfigurationError`` on bad values.
///
/// Every service builds its configuration struct from one of these at start-up, so a typo in a
/// variable stops the process before it serves anything.
public struct EnvironmentReader: Sendable {
    /// The raw variables.
    public let values: [String: String]

    /// Reads from `values`, by default the process environment.
    public init(_ values: [String: String] = ProcessInfo.processInfo.environment) {
        self.values = values
    }

    /// The trimmed value of `key`, or `nil` when it is unset or empty.
    public func raw(_ key: String) -> String? {
        guard let value = self.values[key]?.trimmingWhitespace(), !value.isEmpty else { return nil }
        return String(value)
    }

    /// A string value.
    public func string(_ key: String, default defaultValue: String) -> String {
        self.raw(key) ?? defaultValue
    }

    /// A required secret: never echoed in errors.
    public func secret(_ key: String, default defaultValue: String? = nil, minimumLength: Int = 1) throws -> String {
        guard let value = self.raw(key) ?? defaultValue else {
            throw ConfigurationError(key: key, expected: "a value (it is required)", found: nil)
        }
        guard value.utf8.count >= minimumLength else {
            throw ConfigurationError(key: key, expected: "at least \(minimumLength) characters", found: nil)
        }
        return value
    }

    /// An integer within `range`.
    public func int(_ key: String, default defaultValue: Int, in range: ClosedRange<Int>) throws -> Int {
        guard let text = self.raw(key) else { return defaultValue }
        guard let value = Int(text), range.contains(value) else {
            throw ConfigurationError(key: key, expected: "an integer from \(range.lowerBound) to \(range.upperBound)", found: text)
        }
        return value
    }

    /// A fraction within `range`.
    public func double(_ key: String, default defaultValue: Double, in range: ClosedRange<Double>) throws -> Double {
        guard let text = self.raw(key) else { return defaultValue }
        guard let value = Double(text), value.isFinite, range.contains(value) else {
            throw ConfigurationError(key: key, expected: "a number from \(range.lowerBound) to \(range.upperBound)", found: text)
        }
        return value
    }

    /// A TCP port.
    public func port(_ key: String, default defaultValue: Int) throws -> Int {
        try self.int(key, default: defaultValue, in: 1...65535)
    }

    /// A log level name (`trace` … `critical`).
    public func logLevel(_ key: String = "LOG_LEVEL", default defaultValue: Logger.Level = .info) throws -> Logger.Level {
        guard let text = self.raw(key) else { return defaultValue }
        guard let level = Logger.Level(rawValue: text.lowercased()) else {
            let names = Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")
            throw ConfigurationError(key: key, expected: "one of \(names)", found: text)
        }
        return level
    }
}
