import Common
import Foundation
import Logging

/// What follows in Redis once an account change has committed in Postgres: its sessions ended or
/// refreshed under its new security stamp, and the codes the change voids revoked.
///
/// The change is already committed, so a Redis failure here cannot undo it: it is logged as an
/// error and the answer still reports the committed change (a 503 would hide committed work).
/// Sessions cannot be used while Redis is down either; the README lists this window.
struct AccountEffects: Sendable {
    let sessions: AccountSessions
    let activations: CodeStore
    let resets: CodeStore
    let emailChanges: CodeStore

    /// The password changed (reset or change): every session but `keeping` ends, every
    /// outstanding code of the account goes.
    func passwordChanged(_ user: User, keeping session: String? = nil, logger: Logger) async {
        await self.logging("end sessions after a password change", user: user, logger: logger) {
            try await self.sessions.endAll(userID: user.id, stamp: user.securityStamp, keeping: session)
            try await self.revokeCodes(of: user, addresses: [user.email])
        }
    }

    /// The address changed from `oldEmail`: every session holds the new profile; reset codes of
    /// either address go.
    func emailChanged(_ user: User, from oldEmail: String, logger: Logger) async {
        await self.logging("refresh sessions after an email change", user: user, logger: logger) {
            try await self.sessions.refresh(userID: user.id, stamp: user.securityStamp, profile: user.profile)
            try await self.resets.revoke(owners: [CodeStore.owner(email: oldEmail), CodeStore.owner(email: user.email)])
        }
    }

    /// The account is gone: its sessions end (and no login in flight can create one), its codes,
    /// failure counts and resend throttles go, so the address can register again at once.
    func deleted(_ user: User, logger: Logger) async {
        await self.logging("end sessions after a deletion", user: user, logger: logger) {
            try await self.sessions.endAll(userID: user.id, stamp: AccountSessions.deletedStamp)
            try await self.activations.forget(owners: [CodeStore.owner(user.id)])
            try await self.emailChanges.forget(owners: [CodeStore.owner(user.id)])
            try await self.resets.forget(owners: [CodeStore.owner(email: user.email)])
            await self.activations.releaseThrottle(email: user.email)
            await self.resets.releaseThrottle(email: user.email)
            await self.emailChanges.releaseThrottle(email: user.email)
        }
    }

    private func revokeCodes(of user: User, addresses: [String]) async throws {
        try await self.activations.revoke(owners: [CodeStore.owner(user.id)])
        try await self.emailChanges.revoke(owners: [CodeStore.owner(user.id)])
        try await self.resets.revoke(owners: addresses.map { CodeStore.owner(email: $0) })
    }

    private func logging(_ what: String, user: User, logger: Logger, _ body: () async throws -> Void) async {
        do {
            try await body()
        } catch {
            logger.error("could not \(what)", metadata: ["user.id": .stringConvertible(user.id), "error": "\(error)"])
        }
    }
}
