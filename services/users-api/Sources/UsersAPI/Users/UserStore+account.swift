import Common
import CommonPostgres
import Foundation
import NIOConcurrencyHelpers
import PostgresNIO

/// The account changes of the lifecycle routes, each inside the caller's transaction.
extension UserStore {
    /// Runs `body` in ``transaction(logger:outboxKey:_:)`` (one outbox row `outboxKey`) and
    /// returns what it returned.
    func transaction<Value: Sendable>(
        logger: Logger,
        outboxKey: UUID,
        returning body: @escaping @Sendable (PostgresConnection) async throws -> Value
    ) async throws -> Value {
        let result = NIOLockedValueBox<Value?>(nil)
        try await self.transaction(logger: logger, outboxKey: outboxKey) { connection in
            let value = try await body(connection)
            result.withLockedValue { $0 = value }
        }
        guard let value = result.withLockedValue({ $0 }) else { throw ProblemDetails.internalError }
        return value
    }

    /// Sets the password of the active account `user`, as it was read (same email and password:
    /// a change that committed since wins, and this one does nothing); the account after it, or
    /// nil when it is no longer that active account.
    func setPassword(of user: User, to passwordHash: String, on connection: PostgresConnection) async throws -> User? {
        try await Self.first(
            connection.query(
                """
                UPDATE users SET password_hash = \(passwordHash), updated_at = now()
                WHERE id = \(user.id) AND status = 'active' AND email = \(user.email) AND password_hash = \(user.passwordHash)
                RETURNING \(unescaped: Self.columns)
                """,
                logger: self.logger
            )
        )
    }

    /// Moves the active account `user`, as it was read, to `email`; the account after it, nil when
    /// it is no longer that active account (it changed since), or ``EmailTaken`` when another
    /// account has the address.
    func setEmail(of user: User, to email: String, on connection: PostgresConnection) async throws -> User? {
        do {
            return try await Self.first(
                connection.query(
                    """
                    UPDATE users SET email = \(email), updated_at = now()
                    WHERE id = \(user.id) AND status = 'active' AND email = \(user.email) AND password_hash = \(user.passwordHash)
                    RETURNING \(unescaped: Self.columns)
                    """,
                    logger: self.logger
                )
            )
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
            throw EmailTaken()
        }
    }

    /// Deletes the account `user`, as it was read (same email and password), and cancels the mail
    /// to its address that has not gone out; returns whether it was deleted.
    func delete(_ user: User, on connection: PostgresConnection) async throws -> Bool {
        let email = user.email
        try await connection.query(
            """
            UPDATE outbox SET status = 'cancelled', locked_by = NULL
            WHERE topic = ANY(\(Self.accountTopics)) AND payload->>'to' = \(email) AND status IN ('pending', 'processing')
            """,
            logger: self.logger
        )
        let rows = try await connection.query(
            "DELETE FROM users WHERE id = \(user.id) AND email = \(email) AND password_hash = \(user.passwordHash) RETURNING id",
            logger: self.logger
        )
        for try await _ in rows { return true }
        return false
    }
}

extension UserStore {
    /// Every topic of mail to an account's address (its outbox rows are found by topic and address).
    static let accountTopics = OutboxTopic.all
}

/// Another account already has the address.
struct EmailTaken: Error {}
