import Common
import CommonPostgres
import Foundation
import Logging
import PostgresNIO

/// The `users` table. Emails are stored normalised (``EmailAddress``), unique on `lower(email)`.
/// Every operation has the deadline `timeout` (`DATABASE_TIMEOUT_MS`): past it, the request is a 503.
struct UserStore: Sendable {
    let client: PostgresClient
    let timeout: Duration
    let logger: Logger

    private static let columns = "id, email, password_hash, status, created_at, activated_at"

    func find(email: String) async throws -> User? {
        try await withPostgresDeadline(self.timeout) {
            try await Self.first(
                self.client.query("SELECT \(unescaped: Self.columns) FROM users WHERE lower(email) = lower(\(email))", logger: self.logger)
            )
        }
    }

    func find(id: UUID) async throws -> User? {
        try await withPostgresDeadline(self.timeout) {
            try await Self.first(self.client.query("SELECT \(unescaped: Self.columns) FROM users WHERE id = \(id)", logger: self.logger))
        }
    }

    /// Runs `body` in one transaction, within the deadline.
    func transaction<Value: Sendable>(
        logger: Logger,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> Value
    ) async throws -> Value {
        try await withPostgresDeadline(self.timeout) {
            try await self.client.withTransaction(logger: logger) { connection in try await body(connection) }
        }
    }

    /// Creates a pending user, or updates the password of a pending one; an active user is left
    /// untouched. Returns the row as it now is.
    func upsertPending(email: String, passwordHash: String, on connection: PostgresConnection) async throws -> User {
        let rows = try await connection.query(
            """
            INSERT INTO users (email, password_hash) VALUES (\(email), \(passwordHash))
            ON CONFLICT (lower(email)) DO UPDATE
                SET password_hash = EXCLUDED.password_hash, updated_at = now()
                WHERE users.status = 'pending'
            RETURNING \(unescaped: Self.columns)
            """,
            logger: self.logger
        )
        if let user = try await Self.first(rows) { return user }
        // The conflict target is active: nothing was updated, nothing returned.
        let existing = try await connection.query(
            "SELECT \(unescaped: Self.columns) FROM users WHERE lower(email) = lower(\(email))",
            logger: self.logger
        )
        guard let user = try await Self.first(existing) else { throw UserStoreError.vanished }
        return user
    }

    /// Marks a pending user active; false when it was not pending (already active, or gone).
    func activate(id: UUID) async throws -> Bool {
        try await withPostgresDeadline(self.timeout) {
            let rows = try await self.client.query(
                "UPDATE users SET status = 'active', activated_at = now(), updated_at = now() WHERE id = \(id) AND status = 'pending' RETURNING id",
                logger: self.logger
            )
            for try await _ in rows { return true }
            return false
        }
    }

    private static func first(_ rows: PostgresRowSequence) async throws -> User? {
        for try await (id, email, hash, status, created, activated) in rows.decode((UUID, String, String, String, Date, Date?).self) {
            return User(
                id: id,
                email: email,
                passwordHash: hash,
                status: AccountStatus(rawValue: status) ?? .pending,
                createdAt: created,
                activatedAt: activated
            )
        }
        return nil
    }
}

/// The row an upsert conflicted with disappeared before it could be read (a concurrent delete).
enum UserStoreError: Error {
    case vanished
}
