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

    var profile: UserProfile {
        UserProfile(id: self.id, email: self.email, status: self.status, createdAt: self.createdAt, activatedAt: self.activatedAt)
    }
}
