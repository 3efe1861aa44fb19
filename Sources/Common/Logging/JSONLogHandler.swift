import Foundation
import Logging
import NIOConcurrencyHelpers

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
        let bytes = Data(line.utf8)
        Self.output.withLockedValue { _ in FileHandle.standardOutput.write(bytes) }
    }

    /// The JSON line for one event (without a trailing newline beyond the one it ends with).
    static func render(timestamp: Date, level: Logger.Level, label: String, message: String, metadata: Logger.Metadata) -> String {
        var object: [String: Any] = [
            "ts": timestamp.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true)),
            "level": level.rawValue,
            "logger": label,
            "msg": message,
        ]
        for (key, value) in metadata where object[key] == nil {
            object[key] = Self.jsonValue(value)
        }
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]),
            let text = String(data: data, encoding: .utf8)
        else { return "{\"level\":\"error\",\"msg\":\"unencodable log event\"}\n" }
        return text + "\n"
    }

    private static func jsonValue(_ value: Logger.Metadata.Value) -> Any {
        switch value {
        case .string(let string): return string
        case .stringConvertible(let convertible): return convertible.description
        case .array(let values): return values.map(Self.jsonValue)
        case .dictionary(let dictionary): return dictionary.mapValues(Self.jsonValue)
        }
    }
}
