import Common
import Logging
import PostgresNIO

/// Applies pending ``Migration``s: one at a time, each in a transaction, recorded with its checksum
/// in `schema_migrations`, under a Postgres advisory lock so concurrent migrators are safe.
public struct Migrator: Sendable {
    /// The advisory lock key: "REGISTRA" in ASCII.
    public static let lockKey: Int64 = 0x5245_4749_5354_5241

    private let client: PostgresClient
    private let logger: Logger

    /// Creates a migrator on a running client.
    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Applies what is pending; returns the versions applied now.
    ///
    /// Refuses (throws ``MigrationError/checksumMismatch(version:name:)``) before applying anything
    /// if a file that was already applied has changed.
    @discardableResult
    public func migrate(_ migrations: [Migration]) async throws -> [String] {
        try await self.client.withConnection { connection in
            try await connection.query("SELECT pg_advisory_lock(\(Self.lockKey))", logger: self.logger)
            do {
                let applied = try await self.apply(migrations, on: connection)
                try await connection.query("SELECT pg_advisory_unlock(\(Self.lockKey))", logger: self.logger)
                return applied
            } catch {
                _ = try? await connection.query("SELECT pg_advisory_unlock(\(Self.lockKey))", logger: self.logger)
                throw error
            }
        }
    }

    /// The versions and checksums recorded in `schema_migrations`.
    public func appliedChecksums(on connection: PostgresConnection) async throws -> [String: String] {
        var applied: [String: String] = [:]
        let rows = try await connection.query("SELECT version, checksum FROM schema_migrations", logger: self.logger)
        for try await (version, checksum) in rows.decode((String, String).self) { applied[version] = checksum }
        return applied
    }

    private func apply(_ migrations: [Migration], on connection: PostgresConnection) async throws -> [String] {
        try await connection.query(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version text PRIMARY KEY,
                name text NOT NULL,
                checksum text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            logger: self.logger
        )
        let applied = try await self.appliedChecksums(on: connection)
        for migration in migrations {
            if let checksum = applied[migration.version], checksum != migration.checksum {
                throw MigrationError.checksumMismatch(version: migration.version, name: migration.name)
            }
        }
        let known = Set(migrations.map(\.version))
        for version in applied.keys.sorted() where !known.contains(version) {
            self.logger.warning("database has a migration this build does not know", metadata: ["migration.version": .string(version)])
        }
        var appliedNow: [String] = []
        for migration in migrations where applied[migration.version] == nil {
            try await connection.withTransaction(logger: self.logger) { transaction in
                for statement in SQLScript.statements(migration.sql) {
                    try await transaction.query(PostgresQuery(unsafeSQL: statement), logger: self.logger)
                }
                try await transaction.query(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES (\(migration.version), \(migration.name), \(migration.checksum))",
                    logger: self.logger
                )
            }
            self.logger.info(
                "migration applied",
                metadata: ["migration.version": .string(migration.version), "migration.name": .string(migration.name)]
            )
            appliedNow.append(migration.version)
        }
        return appliedNow
    }
}
