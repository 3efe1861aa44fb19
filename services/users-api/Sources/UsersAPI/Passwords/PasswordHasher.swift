import Bcrypt

/// bcrypt on the ``BcryptScheduler``'s threads, never on an event loop.
///
/// Passwords longer than 72 bytes are rejected before they get here (bcrypt ignores the rest).
/// Unknown accounts are checked against a dummy hash of the same cost, so a wrong email takes as
/// long as a wrong password.
struct PasswordHasher: Sendable {
    let cost: Int
    let scheduler: BcryptScheduler
    let dummyHash: String

    /// Creates a hasher; computes the dummy hash once (one bcrypt at start-up).
    static func make(cost: Int, scheduler: BcryptScheduler) async throws -> PasswordHasher {
        let dummy = try await scheduler.run(.hash) { try Bcrypt.hash(DummyPassword.value, cost: cost) }
        return PasswordHasher(cost: cost, scheduler: scheduler, dummyHash: dummy)
    }

    /// A new hash of `password` (registration: waits behind every password check).
    func hash(_ password: String) async throws -> String {
        let cost = self.cost
        return try await self.scheduler.run(.hash) { try Bcrypt.hash(password, cost: cost) }
    }

    /// Whether `password` matches `hash`; with no hash (unknown account), spends the same time and
    /// returns false.
    func verify(_ password: String, against hash: String?) async throws -> Bool {
        let target = hash ?? self.dummyHash
        let matches = try await self.scheduler.run(.verify) { Bcrypt.verify(password, hash: target) }
        return hash != nil && matches
    }
}

private enum DummyPassword {
    static let value = "registrar-dummy-password-for-constant-time"
}
