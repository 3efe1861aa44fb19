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

    /// Sets the password of the active account `id`; the account after it, or nil when there is
    /// no such active account.
    func setPassword(id: UUID, passwordHash: String, on connection: PostgresConnection) async throws -> User? {
        try await Self.first(
            connection.query(
                """
                UPDATE users SET password_hash = \(passwordHash), updated_at = now()
                WHERE id = \(id) AND status = 'active' RETURNING \(unescaped: Self.columns)
                """,
                logger: self.logger
            )
        )
    }

    /// Moves the active account `id` to `email`; the account after it, nil when there is no such
    /// active account, or ``EmailTaken`` when another account has the address.
    func setEmail(id: UUID, email: String, on connection: PostgresConnection) async throws -> User? {
        do {
            return try await Self.first(
                connection.query(
                    """
                    UPDATE users SET email = \(email), updated_at = now()
                    WHERE id = \(id) AND status = 'active' RETURNING \(unescaped: Self.columns)
                    """,
                    logger: self.logger
                )
            )
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
            throw EmailTaken()
        }
    }

    /// Deletes the account `id` and cancels the mail to its address that has not gone out;
    /// returns whether it existed.
    func delete(id: UUID, email: String, on connection: PostgresConnection) async throws -> Bool {
        try await connection.query(
            """
            UPDATE outbox SET status = 'cancelled', locked_by = NULL
            WHERE topic = ANY(\(Self.accountTopics)) AND payload->>'to' = \(email) AND status IN ('pending', 'processing')
            """,
            logger: self.logger
        )
        let rows = try await connection.query("DELETE FROM users WHERE id = \(id) RETURNING id", logger: self.logger)
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
