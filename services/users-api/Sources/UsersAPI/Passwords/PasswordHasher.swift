import HummingbirdBcrypt
import NIOPosix

/// bcrypt on the thread pool, never on an event loop.
///
/// Passwords longer than 72 bytes are rejected before they get here (bcrypt ignores the rest).
/// Unknown accounts are checked against a dummy hash of the same cost, so a wrong email takes as
/// long as a wrong password.
struct PasswordHasher: Sendable {
    let cost: Int
    let threadPool: NIOThreadPool
    let dummyHash: String

    /// Creates a hasher; computes the dummy hash once (one bcrypt at start-up).
    static func make(cost: Int, threadPool: NIOThreadPool = .singleton) async throws -> PasswordHasher {
        let dummy = try await threadPool.runIfActive { Bcrypt.hash(DummyPassword.value, cost: UInt8(cost)) }
        return PasswordHasher(cost: cost, threadPool: threadPool, dummyHash: dummy)
    }

    func hash(_ password: String) async throws -> String {
        let cost = UInt8(self.cost)
        return try await self.threadPool.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    /// Whether `password` matches `hash`; with no hash (unknown account), spends the same time and
    /// returns false.
    func verify(_ password: String, against hash: String?) async throws -> Bool {
        let target = hash ?? self.dummyHash
        let matches = try await self.threadPool.runIfActive { Bcrypt.verify(password, hash: target) }
        return hash != nil && matches
    }
}

private enum DummyPassword {
    static let value = "registrar-dummy-password-for-constant-time"
}
