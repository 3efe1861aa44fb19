import Common
import Foundation
import Logging

/// What an account change does in Redis around its Postgres commit: its sessions ended (all, or
/// all but the caller's) before the commit, then after it again under the account's new security
/// stamp (which fences the logins in flight), and the codes the change voids revoked.
///
/// Ending sessions before the commit does no harm if the commit fails (their owners log in again)
/// and leaves none alive if the answer is lost or Redis fails right after: a failure there is a
/// 503 with nothing changed. The change is committed when the steps after it run, so a Redis
/// failure then is logged as an error and the answer still reports the committed change (a 503
/// would hide committed work); each step is tried on its own.
struct AccountEffects: Sendable {
    let sessions: AccountSessions
    let activations: CodeStore
    let resets: CodeStore
    let emailChanges: CodeStore

    /// Before a change of `user` commits: every session but `session` ends.
    func beforeChange(of user: User, keeping session: String? = nil) async throws {
        try await self.sessions.end(userID: user.id, keeping: session)
    }

    /// The password changed (reset or change): every session but `keeping` ends, every
    /// outstanding code of the account goes.
    func passwordChanged(_ user: User, keeping session: String? = nil, logger: Logger) async {
        await self.logging("end sessions after a password change", user: user, logger: logger) {
            try await self.sessions.end(userID: user.id, keeping: session, stamp: user.versionedStamp)
        }
        await self.logging("revoke codes after a password change", user: user, logger: logger) {
            try await self.activations.revoke(owners: [CodeStore.owner(user.id)])
            try await self.emailChanges.revoke(owners: [CodeStore.owner(user.id)])
            try await self.resets.revoke(owners: [CodeStore.owner(email: user.email)])
        }
    }

    /// The address changed from `oldEmail`: every session but `keeping` ends, the kept one holds
    /// the new profile; reset codes of either address go.
    func emailChanged(_ user: User, from oldEmail: String, keeping session: String?, logger: Logger) async {
        await self.logging("end sessions after an email change", user: user, logger: logger) {
            try await self.sessions.end(userID: user.id, keeping: session, stamp: user.versionedStamp, profile: user.profile)
        }
        await self.logging("revoke codes after an email change", user: user, logger: logger) {
            try await self.resets.revoke(owners: [CodeStore.owner(email: oldEmail), CodeStore.owner(email: user.email)])
        }
    }

    /// The account is gone: its sessions end (and no login in flight can create one), its codes,
    /// failure counts and resend throttles go, so the address can register again at once.
    func deleted(_ user: User, logger: Logger) async {
        await self.logging("end sessions after a deletion", user: user, logger: logger) {
            try await self.sessions.end(userID: user.id, stamp: .deleted)
        }
        await self.logging("forget codes after a deletion", user: user, logger: logger) {
            try await self.activations.forget(owners: [CodeStore.owner(user.id)])
            try await self.emailChanges.forget(owners: [CodeStore.owner(user.id)])
            try await self.resets.forget(owners: [CodeStore.owner(email: user.email)])
            await self.activations.releaseThrottle(email: user.email)
            await self.resets.releaseThrottle(email: user.email)
            await self.emailChanges.releaseThrottle(email: user.email)
        }
    }

    private func logging(_ what: String, user: User, logger: Logger, _ body: () async throws -> Void) async {
        do {
            try await body()
        } catch {
            logger.error("could not \(what)", metadata: ["user.id": .stringConvertible(user.id), "error": "\(error)"])
        }
    }
}
