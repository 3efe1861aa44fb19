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

    /// Creates a pending user with `passwordHash`, or returns the existing account of `email`
    /// untouched (pending or active: a registration never changes a stored password), with whether
    /// it was created now.
    func register(email: String, passwordHash: String, on connection: PostgresConnection) async throws -> (user: User, created: Bool) {
        let rows = try await connection.query(
            """
            INSERT INTO users (email, password_hash) VALUES (\(email), \(passwordHash))
            ON CONFLICT (lower(email)) DO NOTHING
            RETURNING \(unescaped: Self.columns)
            """,
            logger: self.logger
        )
        if let user = try await Self.first(rows) { return (user, true) }
        let existing = try await connection.query(
            "SELECT \(unescaped: Self.columns) FROM users WHERE lower(email) = lower(\(email))",
            logger: self.logger
        )
        guard let user = try await Self.first(existing) else { throw UserStoreError.vanished }
        return (user, false)
    }

    /// Marks a pending user active, with `passwordHash` as its password when given (a code issued
    /// by a later registration of the pending address); false when it was not pending.
    func activate(id: UUID, passwordHash: String? = nil) async throws -> Bool {
        try await withPostgresDeadline(self.timeout) {
            let rows = try await self.client.query(
                """
                UPDATE users SET status = 'active', activated_at = now(), updated_at = now(),
                    password_hash = COALESCE(\(passwordHash), password_hash)
                WHERE id = \(id) AND status = 'pending' RETURNING id
                """,
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
