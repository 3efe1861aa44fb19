import Logging
import NIOConcurrencyHelpers

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A `LogHandler` that writes one JSON object per line to standard output.
///
/// Keys: `ts` (ISO 8601, UTC, milliseconds), `level`, `logger` (the label), `msg`, then the metadata
/// (dotted keys such as `request.id`). Bootstrapped only by executables, through ``LoggingSetup``.
public struct JSONLogHandler: LogHandler {
    /// Lines are written whole, under one lock, so processes' logs never interleave mid-line.
    private static let output = NIOLockedValueBox(())

    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String

    /// Creates a handler for `label` at `level`.
    public init(label: String, level: Logger.Level, metadataProvider: Logger.MetadataProvider? = nil) {
        self.label = label
        self.logLevel = level
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { self.metadata[key] }
        set { self.metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = self.metadata
        if let provided = self.metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        if let error = event.error { merged["error"] = .string(String(describing: error)) }
        let line = Self.render(
            timestamp: Date(),
            level: event.level,
            label: self.label,
            message: event.message.description,
            metadata: merged
        )
        Self.output.withLockedValue { _ in writeAll(line, to: STDOUT_FILENO) }
    }

    /// The JSON line for one event (without a trailing newline beyond the one it ends with).
    static func render(timestamp: Date, level: Logger.Level, label: String, message: String, metadata: Logger.Metadata) -> String {
        var fields: [String: String] = [
            "ts": JSONText.quoted(timestamp.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))),
            "level": JSONText.quoted(level.rawValue),
            "logger": JSONText.quoted(label),
            "msg": JSONText.quoted(message),
        ]
        for (key, value) in metadata where fields[key] == nil {
            fields[key] = Self.json(value)
        }
        return "{" + fields.sorted { $0.key < $1.key }.map { JSONText.quoted($0.key) + ":" + $0.value }.joined(separator: ",") + "}\n"
    }

    private static func json(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let string): return JSONText.quoted(string)
        case .stringConvertible(let convertible): return JSONText.quoted(convertible.description)
        case .array(let values): return "[" + values.map(Self.json).joined(separator: ",") + "]"
        case .dictionary(let dictionary):
            return "{" + dictionary.sorted { $0.key < $1.key }.map { JSONText.quoted($0.key) + ":" + Self.json($0.value) }.joined(separator: ",")
                + "}"
        }
    }
}
