import Common
import CommonPostgres
import Foundation
import Logging
import PostgresNIO
import TestSupport
import Testing

@Suite(.timeLimit(.minutes(2))) struct MigratorTests {
    let logger = TestEnvironment.logger("migrator-test")
    let migrations = [
        Migration(version: "20260101000000", name: "first", sql: "CREATE TABLE a (x int); INSERT INTO a VALUES (1);"),
        Migration(version: "20260102000000", name: "second", sql: "ALTER TABLE a ADD COLUMN y text DEFAULT 'a;b';"),
    ]

    @Test func appliesPendingMigrationsOnceWithChecksums() async throws {
        try await TemporaryDatabase.with { settings in
            try await TemporaryDatabase.withClient(settings) { client in
                let migrator = Migrator(client: client, logger: self.logger)
                #expect(try await migrator.migrate(Array(self.migrations.prefix(1))) == ["20260101000000"])
                #expect(try await migrator.migrate(self.migrations) == ["20260102000000"])
                #expect(try await migrator.migrate(self.migrations).isEmpty)
                let applied = try await client.withConnection { try await migrator.appliedChecksums(on: $0) }
                #expect(applied == Dictionary(uniqueKeysWithValues: self.migrations.map { ($0.version, $0.checksum) }))
                let rows = try await client.query("SELECT y FROM a", logger: self.logger)
                for try await y in rows.decode(String.self) { #expect(y == "a;b") }
            }
        }
    }

    @Test func refusesWhenAnAppliedFileChanged() async throws {
        try await TemporaryDatabase.with { settings in
            try await TemporaryDatabase.withClient(settings) { client in
                let migrator = Migrator(client: client, logger: self.logger)
                try await migrator.migrate(Array(self.migrations.prefix(1)))
                var changed = self.migrations
                changed[0] = Migration(version: "20260101000000", name: "first", sql: "CREATE TABLE a (x bigint);")
                await #expect(throws: MigrationError.checksumMismatch(version: "20260101000000", name: "first")) {
                    try await migrator.migrate(changed)
                }
                let count = try await client.query("SELECT count(*)::int FROM schema_migrations", logger: self.logger)
                for try await value in count.decode(Int.self) { #expect(value == 1, "nothing applied after a refusal") }
            }
        }
    }

    @Test func aFailingMigrationIsRolledBackWhole() async throws {
        try await TemporaryDatabase.with { settings in
            try await TemporaryDatabase.withClient(settings) { client in
                let migrator = Migrator(client: client, logger: self.logger)
                let broken = [Migration(version: "20260101000000", name: "broken", sql: "CREATE TABLE b (x int); SELECT nonsense_column FROM b;")]
                await #expect(throws: (any Error).self) { try await migrator.migrate(broken) }
                let rows = try await client.query("SELECT to_regclass('b')::text", logger: self.logger)
                for try await name in rows.decode(String?.self) { #expect(name == nil, "table b was rolled back") }
            }
        }
    }

    @Test func concurrentMigratorsApplyEachFileOnce() async throws {
        try await TemporaryDatabase.with { settings in
            let slow = [
                Migration(version: "20260101000000", name: "slow", sql: "SELECT pg_sleep(0.3); CREATE TABLE c (x int);")
            ]
            let results = try await withThrowingTaskGroup(of: [String].self) { group in
                for _ in 0..<3 {
                    group.addTask {
                        try await TemporaryDatabase.withClient(settings) { client in
                            try await Migrator(client: client, logger: self.logger).migrate(slow)
                        }
                    }
                }
                var all: [[String]] = []
                for try await result in group { all.append(result) }
                return all
            }
            #expect(results.flatMap { $0 } == ["20260101000000"], "exactly one migrator applied it")
        }
    }

    @Test func loadsFilesInVersionOrderAndRejectsBadNames() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try "SELECT 2".write(to: directory.appendingPathComponent("20260102000000_b.sql"), atomically: true, encoding: .utf8)
        try "SELECT 1".write(to: directory.appendingPathComponent("20260101000000_a.sql"), atomically: true, encoding: .utf8)
        try "notes".write(to: directory.appendingPathComponent("README.txt"), atomically: true, encoding: .utf8)
        #expect(try Migration.load(from: directory).map(\.name) == ["a", "b"])
        try "SELECT 3".write(to: directory.appendingPathComponent("v3_c.sql"), atomically: true, encoding: .utf8)
        #expect(throws: MigrationError.badFileName("v3_c.sql")) { try Migration.load(from: directory) }
    }
}
