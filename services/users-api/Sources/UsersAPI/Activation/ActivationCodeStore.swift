import Common
import Foundation

/// Activation codes, the resend throttle and the account-wide failure budget, in Redis.
///
/// Only a salt, the SHA-256 of salt‖code and an attempt count are stored, with the code's TTL.
/// ``check(userID:code:)`` is one Lua script: compare, delete on match (single use), count and burn
/// on mismatch, and charge the account's failure budget, atomically.
struct ActivationCodeStore: Sendable {
    let redis: RedisClient
    let codeLength: Int
    let codeTTL: Duration
    let maxAttempts: Int
    let throttle: Duration
    let maxFailures: Int
    let failureWindow: Duration

    /// The outcome of one activation attempt.
    enum Check: Equatable {
        /// The code was right; it is now consumed.
        case accepted
        /// No live code (never issued, expired, or already used).
        case invalid
        /// Wrong code; `remaining` tries left before it burns.
        case mismatch(remaining: Int)
        /// The code took too many wrong tries and no longer works; a new one must be requested.
        case burned
        /// The account spent its failure budget; retry after the window.
        case budgetExhausted(retryAfter: Duration)
    }

    static func codeKey(_ userID: UUID) -> String { "registrar:activation:code:\(userID.uuidString.lowercased())" }
    static func failuresKey(_ userID: UUID) -> String { "registrar:activation:failures:\(userID.uuidString.lowercased())" }
    static func throttleKey(_ email: String) -> String { "registrar:activation:throttle:\(email)" }

    /// Issues a new code for `userID`, replacing any previous one (its attempts start again; the
    /// failure budget does not).
    func issue(userID: UUID) async throws -> String {
        let code = Secrets.numericCode(length: self.codeLength)
        let digest = SaltedDigest(secret: code)
        _ = try await self.redis.evaluate(
            Self.issueScript,
            keys: [Self.codeKey(userID)],
            arguments: [digest.salt.hexString, digest.digest.hexString, max(1, self.codeTTL.wholeMilliseconds)]
        )
        return code
    }

    func check(userID: UUID, code: String) async throws -> Check {
        let key = Self.codeKey(userID)
        guard let saltHex = try await self.redis.send(RedisCommand("HGET", key, "salt")).string, let salt = [UInt8](hex: saltHex) else {
            return .invalid
        }
        let candidate = SaltedDigest(secret: code, salt: salt).digest.hexString
        let reply = try await self.redis.evaluate(
            Self.checkScript,
            keys: [key, Self.failuresKey(userID)],
            arguments: [saltHex, candidate, self.maxAttempts, self.maxFailures, self.failureWindow.wholeMilliseconds]
        )
        guard let parts = reply.array, parts.count == 2, let outcome = parts[0].string, let number = parts[1].int else {
            throw RedisClientError.unexpectedReply("activation check")
        }
        switch outcome {
        case "ok": return .accepted
        case "missing": return .invalid
        case "burned": return .burned
        case "mismatch": return .mismatch(remaining: number)
        case "budget": return .budgetExhausted(retryAfter: .milliseconds(max(number, 1000)))
        default: throw RedisClientError.unexpectedReply("activation check: \(outcome)")
        }
    }

    /// Takes the per-address throttle; returns nil when taken, or how long until it is free.
    func acquireThrottle(email: String) async throws -> Duration? {
        guard self.throttle > .zero else { return nil }
        let key = Self.throttleKey(email)
        if try await self.redis.set(key, to: "1", expiresIn: self.throttle, onlyIfAbsent: true) { return nil }
        return try await self.redis.ttl(key) ?? .seconds(1)
    }

    /// Gives the throttle back after a failure, so the user can retry at once.
    func releaseThrottle(email: String) async {
        _ = try? await self.redis.delete(Self.throttleKey(email))
    }

    static let issueScript = RedisScript(
        """
        redis.call('DEL', KEYS[1])
        redis.call('HSET', KEYS[1], 'salt', ARGV[1], 'digest', ARGV[2], 'attempts', 0)
        redis.call('PEXPIRE', KEYS[1], ARGV[3])
        return 1
        """
    )

    /// KEYS: code hash, failure counter. ARGV: salt the candidate was digested with, candidate
    /// digest, attempts per code, failure budget, budget window (ms).
    static let checkScript = RedisScript(
        """
        local failures = tonumber(redis.call('GET', KEYS[2]) or '0')
        if failures >= tonumber(ARGV[4]) then
            return {'budget', redis.call('PTTL', KEYS[2])}
        end
        local stored = redis.call('HMGET', KEYS[1], 'salt', 'digest', 'burned')
        if not stored[1] then return {'missing', 0} end
        if stored[3] == '1' then return {'burned', 0} end
        if stored[1] == ARGV[1] and stored[2] == ARGV[2] then
            redis.call('DEL', KEYS[1])
            return {'ok', 0}
        end
        local attempts = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
        if redis.call('INCR', KEYS[2]) == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[5]) end
        if attempts >= tonumber(ARGV[3]) then
            redis.call('HDEL', KEYS[1], 'digest')
            redis.call('HSET', KEYS[1], 'burned', '1')
            return {'burned', 0}
        end
        return {'mismatch', tonumber(ARGV[3]) - attempts}
        """
    )
}
