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
    /// When the row last changed (a password, an email, a registration touching a pending account).
    var updatedAt: Date

    /// The stamp sessions are fenced by (``AccountSessions``): it changes with the password or email.
    var securityStamp: String { AccountSessions.stamp(id: self.id, email: self.email, passwordHash: self.passwordHash) }

    /// ``securityStamp`` with its version: the row's `updated_at` in milliseconds.
    var versionedStamp: AccountSessions.Stamp {
        AccountSessions.Stamp(value: self.securityStamp, version: Int((self.updatedAt.timeIntervalSince1970 * 1000).rounded()))
    }

    var profile: UserProfile {
        UserProfile(id: self.id, email: self.email, status: self.status, createdAt: self.createdAt, activatedAt: self.activatedAt)
    }
}
