import Bcrypt
import Foundation
import NIOPosix

/// The bcrypt ceiling of this machine: operations per second at a cost, on every core, with the
/// same implementation users-api uses (libxcrypt, see `Sources/Bcrypt`), one thread per core. `bcrypt-ceiling COST SECONDS [verify|hash]`
/// prints JSON (login verifies, registration hashes).
@main
struct BcryptCeiling {
    static func main() async throws {
        let arguments = CommandLine.arguments.dropFirst()
        let cost = arguments.first.flatMap(Int.init) ?? 12
        let seconds = Double(arguments.dropFirst().first.flatMap(Double.init) ?? 5)
        let hashing = arguments.dropFirst(2).first == "hash"
        let pool = NIOThreadPool.singleton
        let hash = try await pool.runIfActive { try Bcrypt.hash("ceiling-password", cost: cost) }
        let threads = ProcessInfo.processInfo.activeProcessorCount
        let deadline = Date().addingTimeInterval(seconds)
        let started = Date()
        let total = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<threads {
                group.addTask {
                    var count = 0
                    while Date() < deadline {
                        if hashing {
                            _ = try await pool.runIfActive { try Bcrypt.hash("ceiling-password", cost: cost) }
                        } else {
                            _ = try await pool.runIfActive { Bcrypt.verify("ceiling-password", hash: hash) }
                        }
                        count += 1
                    }
                    return count
                }
            }
            var total = 0
            for try await count in group { total += count }
            return total
        }
        let elapsed = Date().timeIntervalSince(started)
        print(
            "{\"cost\": \(cost), \"threads\": \(threads), \"verifies\": \(total), \"seconds\": \(elapsed), \"per_second\": \(Double(total) / elapsed)}"
        )
    }
}
