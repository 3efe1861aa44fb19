import Common
import Foundation
import Logging

/// Sets an account's new password (a reset or a change): the row and the owner's notice in one
/// transaction, then ``AccountEffects/passwordChanged(_:keeping:logger:)``.
struct PasswordWriter: Sendable {
    let users: UserStore
    let mailer: VerificationMailer
    let effects: AccountEffects

    /// The account after its password became `hash`; throws `missing` when it is no longer an
    /// active account. Every session but `keeping` ends.
    func set(
        _ hash: String,
        for user: User,
        keeping session: String? = nil,
        language: LanguagePreference,
        missing: ProblemDetails,
        logger: Logger
    ) async throws -> User {
        let key = UUID()
        let updated = try await self.users.transaction(logger: logger, outboxKey: key) { connection -> User in
            guard let updated = try await self.users.setPassword(id: user.id, passwordHash: hash, on: connection) else { throw missing }
            try await self.mailer.enqueue(
                MailTemplates.passwordChanged(to: updated.email),
                topic: OutboxTopic.passwordChanged,
                key: key,
                language: language,
                on: connection
            )
            return updated
        }
        await self.effects.passwordChanged(updated, keeping: session, logger: logger)
        return updated
    }
}
