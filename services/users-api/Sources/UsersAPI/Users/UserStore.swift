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

    static let columns = "id, email, password_hash, status, created_at, activated_at, updated_at"

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

    /// Runs `body` in one transaction that writes the outbox row `outboxKey`, so that its answer
    /// matches its outcome: the deadline never abandons a `COMMIT` in flight
    /// (``withPostgresTransaction``), and when a `COMMIT`'s answer is lost the row is looked up
    /// (until the deadline) to tell. Throws ``PostgresCommitOutcomeUnknown`` only when Postgres
    /// cannot be asked.
    func transaction(
        logger: Logger,
        outboxKey: UUID,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> Void
    ) async throws {
        do {
            try await withPostgresTransaction(self.client, timeout: self.timeout, commitTimeout: self.timeout, logger: logger, body)
        } catch let unknown as PostgresCommitOutcomeUnknown {
            logger.warning("commit outcome unknown: looking for its outbox row", metadata: ["error": "\(unknown)"])
            let deadline = ContinuousClock.now + self.timeout
            while ContinuousClock.now < deadline {
                let found: Bool? = try? await withPostgresDeadline(self.timeout) {
                    let rows = try await self.client.query("SELECT 1 FROM outbox WHERE idempotency_key = \(outboxKey)", logger: logger)
                    for try await _ in rows { return true }
                    return false
                }
                switch found {
                case true?: return  // committed after all
                case false?: throw RolledBack(cause: unknown)
                case nil: try? await Task.sleep(for: .milliseconds(200))
                }
            }
            throw unknown
        }
    }

    /// Creates a pending user with `passwordHash`, or returns the existing account of `email`
    /// (pending or active: a registration never changes a stored password; a pending one's
    /// `updated_at` is touched, which keeps it from retention), with whether it was created now.
    func register(email: String, passwordHash: String, on connection: PostgresConnection) async throws -> (user: User, created: Bool) {
        let rows = try await connection.query(
            """
            INSERT INTO users (email, password_hash) VALUES (\(email), \(passwordHash))
            ON CONFLICT (lower(email)) DO UPDATE SET updated_at = now() WHERE users.status = 'pending'
            RETURNING \(unescaped: Self.columns), xmax = 0
            """,
            logger: self.logger
        )
        for try await (id, email, hash, status, created, activated, updated, inserted) in rows.decode(
            (UUID, String, String, String, Date, Date?, Date, Bool).self
        ) {
            let user = User(
                id: id,
                email: email,
                passwordHash: hash,
                status: AccountStatus(rawValue: status) ?? .pending,
                createdAt: created,
                activatedAt: activated,
                updatedAt: updated
            )
            return (user, inserted)
        }
        // The conflict target is active: nothing was updated, nothing returned.
        let existing = try await connection.query(
            "SELECT \(unescaped: Self.columns) FROM users WHERE lower(email) = lower(\(email))",
            logger: self.logger
        )
        guard let user = try await Self.first(existing) else { throw UserStoreError.vanished }
        return (user, false)
    }

    /// Records activity on a pending account (a resend), which keeps it from retention.
    func touch(id: UUID, on connection: PostgresConnection) async throws {
        try await connection.query("UPDATE users SET updated_at = now() WHERE id = \(id)", logger: self.logger)
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

    static func first(_ rows: PostgresRowSequence) async throws -> User? {
        for try await (id, email, hash, status, created, activated, updated) in rows.decode(
            (UUID, String, String, String, Date, Date?, Date).self
        ) {
            return User(
                id: id,
                email: email,
                passwordHash: hash,
                status: AccountStatus(rawValue: status) ?? .pending,
                createdAt: created,
                activatedAt: activated,
                updatedAt: updated
            )
        }
        return nil
    }
}

/// A `COMMIT` whose answer was lost did not commit (its outbox row is absent): nothing was done,
/// a plain outage.
struct RolledBack: DependencyUnavailableError {
    let cause: PostgresCommitOutcomeUnknown
    var unavailableDependency: String? { "Postgres" }
}

/// The row an upsert conflicted with disappeared before it could be read (a concurrent delete).
enum UserStoreError: Error {
    case vanished
}
