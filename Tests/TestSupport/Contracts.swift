import Foundation

/// The versioned contract fixtures in `Tests/Contracts` (see its README).
public enum Contracts {
    /// `Tests/Contracts`, found from this source file.
    public static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Contracts")

    /// Every `*.json` of `Tests/Contracts/<boundary>`, parsed, sorted by file name.
    public static func load(_ boundary: String) throws -> [(name: String, fixture: [String: Any])] {
        let folder = self.directory.appendingPathComponent(boundary)
        let files = try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "json" }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
        guard !files.isEmpty else { throw ContractError("no fixtures in \(folder.path)") }
        return try files.map { file in
            guard let object = try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as? [String: Any] else {
                throw ContractError("\(file.lastPathComponent) is not a JSON object")
            }
            return (file.lastPathComponent, object)
        }
    }

    /// Whether `path` is the fixture path `pattern`, where a `{id}` segment stands for any UUID.
    public static func path(_ path: String, matches pattern: String) -> Bool {
        let actual = path.split(separator: "/", omittingEmptySubsequences: false)
        let expected = pattern.split(separator: "/", omittingEmptySubsequences: false)
        return actual.count == expected.count
            && zip(actual, expected).allSatisfy { $1 == "{id}" ? UUID(uuidString: String($0)) != nil : $0 == $1 }
    }

    /// One fixture by relative path (`outbox/v1/verification-code.json`).
    public static func fixture(_ path: String) throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(contentsOf: self.directory.appendingPathComponent(path))) as? [String: Any]
        else {
            throw ContractError("\(path) is not a JSON object")
        }
        return object
    }

    /// Differences between an `actual` JSON value and the fixture's `expected`, honouring
    /// top-level `matchers` (`uuid`, `date-time`, `date-time-or-null`, `hex16`); empty when they match.
    public static func mismatches(actual: Any?, expected: Any?, matchers: [String: String] = [:]) -> [String] {
        guard let expectedObject = expected as? [String: Any], let actualObject = actual as? [String: Any] else {
            return self.equal(actual, expected) ? [] : ["expected \(String(describing: expected)), got \(String(describing: actual))"]
        }
        var problems: [String] = []
        if Set(actualObject.keys) != Set(expectedObject.keys) {
            problems.append("keys \(actualObject.keys.sorted()) ≠ \(expectedObject.keys.sorted())")
        }
        for (key, value) in expectedObject {
            let got = actualObject[key]
            switch matchers[key] {
            case "uuid":
                if (got as? String).flatMap(UUID.init(uuidString:)) == nil { problems.append("\(key): not a UUID: \(String(describing: got))") }
            case "date-time":
                if (got as? String).flatMap(Self.date) == nil { problems.append("\(key): not a date-time: \(String(describing: got))") }
            case "date-time-or-null":
                if !(got is NSNull), (got as? String).flatMap(Self.date) == nil { problems.append("\(key): not a date-time or null") }
            case "hex16":
                if (got as? String)?.wholeMatch(of: /[0-9a-f]{16}/) == nil {
                    problems.append("\(key): not 16 hex digits: \(String(describing: got))")
                }
            default:
                if !self.equal(got, value) { problems.append("\(key): expected \(value), got \(String(describing: got))") }
            }
        }
        return problems
    }

    private static func date(_ text: String) -> Date? {
        (try? Date(text, strategy: .iso8601)) ?? ISO8601DateFormatter().date(from: text)
    }

    private static func equal(_ lhs: Any?, _ rhs: Any?) -> Bool {
        switch (lhs, rhs) {
        case (nil, nil): return true
        case (is NSNull, is NSNull): return true
        case (let left as [String: Any], let right as [String: Any]): return self.mismatches(actual: left, expected: right).isEmpty
        case (let left as [Any], let right as [Any]): return left.count == right.count && zip(left, right).allSatisfy { self.equal($0, $1) }
        case (let left as String, let right as String): return left == right
        case (let left as NSNumber, let right as NSNumber): return left == right
        default: return false
        }
    }
}

/// A fixture that cannot be read or used.
public struct ContractError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
