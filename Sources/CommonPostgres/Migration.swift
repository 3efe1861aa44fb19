import Common
import Crypto
import Foundation

/// One plain-SQL migration file, `<version>_<name>.sql`, where the version is a UTC timestamp
/// `YYYYMMDDHHMMSS`. Applied in version order, each in its own transaction.
public struct Migration: Sendable, Equatable {
    /// The timestamp prefix, e.g. `20261125140000`.
    public let version: String
    /// The rest of the file name, e.g. `initial_schema`.
    public let name: String
    /// The file's SQL.
    public let sql: String

    /// Creates a migration from its parts.
    public init(version: String, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }

    /// SHA-256 of the SQL, hex: recorded when applied; a changed file no longer matches.
    public var checksum: String { sha256Hex(self.sql) }

    /// Reads every `*.sql` file of `directory`, sorted by version.
    public static func load(from directory: URL) throws -> [Migration] {
        let files = try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "sql" }
        let migrations = try files.map { file in
            let stem = file.deletingPathExtension().lastPathComponent
            guard let underscore = stem.firstIndex(of: "_"), stem[..<underscore].count == 14,
                stem[..<underscore].allSatisfy(\.isNumber)
            else { throw MigrationError.badFileName(file.lastPathComponent) }
            return Migration(
                version: String(stem[..<underscore]),
                name: String(stem[stem.index(after: underscore)...]),
                sql: try String(contentsOf: file, encoding: .utf8)
            )
        }
        let sorted = migrations.sorted { $0.version < $1.version }
        for (first, second) in zip(sorted, sorted.dropFirst()) where first.version == second.version {
            throw MigrationError.duplicateVersion(first.version)
        }
        return sorted
    }
}

/// Why migrations refused to run.
public enum MigrationError: Error, Equatable, CustomStringConvertible {
    /// A file is not named `<14-digit version>_<name>.sql`.
    case badFileName(String)
    /// Two files share a version.
    case duplicateVersion(String)
    /// An applied migration's file has changed since it was applied.
    case checksumMismatch(version: String, name: String)

    public var description: String {
        switch self {
        case .badFileName(let name): return "migration file \(name) is not named <YYYYMMDDHHMMSS>_<name>.sql"
        case .duplicateVersion(let version): return "two migration files have version \(version)"
        case .checksumMismatch(let version, let name):
            return "migration \(version)_\(name) was changed after it was applied; add a new migration instead"
        }
    }
}
