import Common
import Foundation
import Logging

/// Sets an account's new password (a reset or a change): the sessions ended first, the row (as it
/// was read: a change committed since wins) and the owner's notice in one transaction, then
/// ``AccountEffects/passwordChanged(_:keeping:logger:)``.
struct PasswordWriter: Sendable {
    let users: UserStore
    let mailer: VerificationMailer
    let effects: AccountEffects

    /// The account after its password became `hash`; throws `missing` when it is no longer the
    /// active account `user` was read as. Every session but `keeping` ends.
    func set(
        _ hash: String,
        for user: User,
        keeping session: String? = nil,
        language: LanguagePreference,
        missing: ProblemDetails,
        logger: Logger
    ) async throws -> User {
        try await self.effects.beforeChange(of: user, keeping: session)
        let key = UUID()
        let updated = try await self.users.transaction(logger: logger, outboxKey: key) { connection -> User in
            guard let updated = try await self.users.setPassword(of: user, to: hash, on: connection) else { throw missing }
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
