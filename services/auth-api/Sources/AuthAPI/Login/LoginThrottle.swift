import Common

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Failed-login limits per account and per client address: after `maxFailures` failures in the
/// window, logins from that account or address get 429 until the window ends.
struct LoginThrottle: Sendable {
    let redis: RedisClient
    let maxFailures: Int
    let window: Duration

    static func accountKey(_ email: String) -> String { "registrar:login-failures:account:\(email)" }
    static func addressKey(_ address: String) -> String { "registrar:login-failures:address:\(address)" }

    /// How long until a login may be tried again, or nil when it may be tried now.
    func retryAfter(email: String, address: String) async throws -> Duration? {
        let reply = try await self.redis.evaluate(
            Self.checkScript,
            keys: [Self.accountKey(email), Self.addressKey(address)],
            arguments: [self.maxFailures]
        )
        guard let milliseconds = reply.int, milliseconds > 0 else { return nil }
        return .milliseconds(milliseconds)
    }

    func recordFailure(email: String, address: String) async throws {
        _ = try await self.redis.evaluate(
            Self.failScript,
            keys: [Self.accountKey(email), Self.addressKey(address)],
            arguments: [self.window.wholeMilliseconds]
        )
    }

    func recordSuccess(email: String) async throws {
        _ = try await self.redis.send(RedisCommand("DEL", Self.accountKey(email)))
    }

    /// KEYS: account counter, address counter. ARGV: limit. Returns the longest wait (ms) or 0.
    static let checkScript = RedisScript(
        """
        local wait = 0
        for _, key in ipairs(KEYS) do
            if tonumber(redis.call('GET', key) or '0') >= tonumber(ARGV[1]) then
                wait = math.max(wait, redis.call('PTTL', key))
            end
        end
        return wait
        """
    )

    /// KEYS: account counter, address counter. ARGV: window (ms).
    static let failScript = RedisScript(
        """
        for _, key in ipairs(KEYS) do
            if redis.call('INCR', key) == 1 then redis.call('PEXPIRE', key, ARGV[1]) end
        end
        return 1
        """
    )
}
