import Common
import CommonPostgres
import Foundation
import Logging
import PostgresNIO

/// A scratch database on the test cluster, created empty and dropped afterwards.
public enum TemporaryDatabase {
    /// Creates a database owned by `app`, runs `body` with settings for it, then drops it.
    public static func with<Value: Sendable>(
        _ body: @Sendable (PostgresSettings) async throws -> Value
    ) async throws -> Value {
        let name = "t_\(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: ""))"
        try await admin("CREATE DATABASE \(name) OWNER app")
        let base = try PostgresSettings(url: TestEnvironment.databaseURL())
        let settings = try PostgresSettings(url: "postgresql://app:app@\(base.host):\(base.port)/\(name)")
        do {
            let value = try await body(settings)
            try await admin("DROP DATABASE \(name) WITH (FORCE)")
            return value
        } catch {
            try? await admin("DROP DATABASE \(name) WITH (FORCE)")
            throw error
        }
    }

    /// Runs `body` with a running client on `settings`.
    public static func withClient<Value: Sendable>(
        _ settings: PostgresSettings,
        _ body: @Sendable (PostgresClient) async throws -> Value
    ) async throws -> Value {
        let client = try settings.makeClient(logger: TestEnvironment.logger("postgres"))
        return try await withThrowingTaskGroup(of: Value?.self) { group in
            group.addTask {
                await client.run()
                return nil
            }
            defer { group.cancelAll() }
            return try await body(client)
        }
    }

    private static func admin(_ sql: String) async throws {
        let settings = try PostgresSettings(url: TestEnvironment.postgresAdminURL())
        try await withClient(settings) { client in
            try await client.query(PostgresQuery(unsafeSQL: sql), logger: TestEnvironment.logger("admin"))
        }
    }
}
