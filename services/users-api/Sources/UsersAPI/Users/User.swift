import Common
import Foundation

/// A row of `users`.
struct User: Sendable, Equatable {
    var id: UUID
    var email: String
    var passwordHash: String
    var status: AccountStatus
    var createdAt: Date
    var activatedAt: Date?

    /// The stamp sessions are fenced by (``AccountSessions``): it changes with the password or email.
    var securityStamp: String { AccountSessions.stamp(id: self.id, email: self.email, passwordHash: self.passwordHash) }

    var profile: UserProfile {
        UserProfile(id: self.id, email: self.email, status: self.status, createdAt: self.createdAt, activatedAt: self.activatedAt)
    }
}
