import Common
import Foundation
import NIOCore

/// Activation codes, the resend throttle and the account-wide failure budget, in Redis.
///
/// An account may have a few live codes at once (at most ``maxLiveCodes``), each stored as a
/// salt, SHA-256(salt ‖ code) and an expiry, and each bound to the password it activates with:
/// the account's own (registration, resend) or the one a later registration of the still-pending
/// address chose. So re-registering a pending address never changes what its owner knows: the new
/// password takes effect only if the account is activated with the code sent for it.
///
/// ``check(userID:match:)`` is one Lua script: consume the matched code (single use: every code of
/// the account goes), or count the wrong try against the codes (burned after `maxAttempts`) and
/// the account's failure budget, atomically.
struct ActivationCodeStore: Sendable {
    /// The most codes an account holds at once; issuing one more drops the oldest.
    static let maxLiveCodes = 5

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
        /// The codes took too many wrong tries and no longer work; a new one must be requested.
        case burned
        /// The account spent its failure budget; retry after the window.
        case budgetExhausted(retryAfter: Duration)
    }

    /// A live code that matches what the client sent, and the password it activates with.
    struct Match: Sendable, Equatable {
        /// The code's field in the account's hash.
        var field: String
        /// The bcrypt hash of the password it was issued with, or nil for the account's own.
        var passwordHash: String?
    }

    static func codeKey(_ userID: UUID) -> String { "registrar:activation:code:\(userID.uuidString.lowercased())" }
    static func failuresKey(_ userID: UUID) -> String { "registrar:activation:failures:\(userID.uuidString.lowercased())" }
    static func throttleKey(_ email: String) -> String { "registrar:activation:throttle:\(LimitKey.account(email))" }

    /// Issues a new code for `userID`, bound to `passwordHash` (nil: the account's own password).
    /// It replaces a live code bound to the same password; the others stay (up to
    /// ``maxLiveCodes``). The wrong-try count starts again; the failure budget does not.
    func issue(userID: UUID, passwordHash: String? = nil) async throws -> String {
        let code = Secrets.numericCode(length: self.codeLength)
        let digest = SaltedDigest(secret: code)
        try await self.redis.evaluate(
            Self.issueScript,
            keys: [Self.codeKey(userID)],
            arguments: [
                "c:" + digest.salt.hexString, digest.digest.hexString, max(1, self.codeTTL.wholeMilliseconds), passwordHash ?? "",
                Self.maxLiveCodes,
            ]
        )
        return code
    }

    /// The live code of `userID` that `code` is, if any (compared in constant time, nothing consumed).
    func match(userID: UUID, code: String) async throws -> Match? {
        var found: Match?
        for (field, bytes) in try await self.redis.hgetall(Self.codeKey(userID)) {
            let value = String(buffer: bytes)
            guard field.hasPrefix("c:"), let salt = [UInt8](hex: String(field.dropFirst(2))) else { continue }
            let parts = value.split(separator: "|", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3, let digest = [UInt8](hex: String(parts[0])) else { continue }
            if SaltedDigest(salt: salt, digest: digest).matches(code), found == nil {
                found = Match(field: field, passwordHash: parts[2].isEmpty ? nil : String(parts[2]))
            }
        }
        return found
    }

    /// Consumes `match` if it is still live, else counts a wrong try (see ``Check``).
    func check(userID: UUID, match: Match?) async throws -> Check {
        let (outcome, number) = try await self.redis.evaluate(
            Self.checkScript,
            keys: [Self.codeKey(userID), Self.failuresKey(userID)],
            arguments: [
                match?.field ?? "", match?.passwordHash ?? "", self.maxAttempts, self.maxFailures, self.failureWindow.wholeMilliseconds,
            ]
        )
        switch outcome {
        case "ok": return .accepted
        case "missing": return .invalid
        case "burned": return .burned
        case "mismatch": return .mismatch(remaining: number)
        case "budget": return .budgetExhausted(retryAfter: .milliseconds(max(number, 1000)))
        default: throw RedisClientError.unexpectedReply("activation check: \(outcome)")
        }
    }

    /// Deletes every code and failure count of `userIDs` (accounts that were removed).
    func forget(userIDs: [UUID]) async throws {
        guard !userIDs.isEmpty else { return }
        try await self.redis.delete(keys: userIDs.flatMap { [Self.codeKey($0), Self.failuresKey($0)] })
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

    /// Shared Lua: `live(fields, now)` yields each code field with its value's digest, expiry (ms,
    /// server time) and password hash ('' for the account's own). Values are `digest|expiry|hash`.
    private static let parseCodes = """
        local function now_ms()
            local t = redis.call('TIME')
            return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        end
        local function codes(fields)
            local out = {}
            for i = 1, #fields, 2 do
                if string.sub(fields[i], 1, 2) == 'c:' then
                    local v = fields[i + 1]
                    local a = string.find(v, '|', 1, true)
                    local b = string.find(v, '|', a + 1, true)
                    table.insert(out, {field = fields[i], expires = tonumber(string.sub(v, a + 1, b - 1)), hash = string.sub(v, b + 1)})
                end
            end
            return out
        end
        """

    /// KEYS: codes hash. ARGV: field (`c:<salt>`), digest, TTL (ms), password hash or '', most live codes.
    static let issueScript = RedisScript(
        Self.parseCodes + """

            local now = now_ms()
            local live = {}
            for _, c in ipairs(codes(redis.call('HGETALL', KEYS[1]))) do
                if c.expires <= now or c.hash == ARGV[4] then
                    redis.call('HDEL', KEYS[1], c.field)
                else
                    table.insert(live, c)
                end
            end
            table.sort(live, function(x, y) return x.expires < y.expires end)
            for i = 1, #live - (tonumber(ARGV[5]) - 1) do redis.call('HDEL', KEYS[1], live[i].field) end
            redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. '|' .. (now + tonumber(ARGV[3])) .. '|' .. ARGV[4], 'attempts', 0)
            redis.call('HDEL', KEYS[1], 'burned')
            redis.call('PEXPIRE', KEYS[1], ARGV[3])
            return 1
            """
    )

    /// KEYS: codes hash, failure counter. ARGV: matched field or '', its password hash or '',
    /// attempts per code, failure budget, budget window (ms).
    static let checkScript = RedisScript<(outcome: String, number: Int)>(
        Self.parseCodes + """

            local failures = tonumber(redis.call('GET', KEYS[2]) or '0')
            if failures >= tonumber(ARGV[4]) then
                return {'budget', redis.call('PTTL', KEYS[2])}
            end
            if redis.call('HGET', KEYS[1], 'burned') == '1' then return {'burned', 0} end
            local now = now_ms()
            local live = {}
            for _, c in ipairs(codes(redis.call('HGETALL', KEYS[1]))) do
                if c.expires > now then
                    if c.field == ARGV[1] and c.hash == ARGV[2] then
                        redis.call('DEL', KEYS[1])
                        return {'ok', 0}
                    end
                    table.insert(live, c)
                end
            end
            if #live == 0 then return {'missing', 0} end
            local attempts = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
            if redis.call('INCR', KEYS[2]) == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[5]) end
            if attempts >= tonumber(ARGV[3]) then
                for _, c in ipairs(live) do redis.call('HDEL', KEYS[1], c.field) end
                redis.call('HSET', KEYS[1], 'burned', '1')
                return {'burned', 0}
            end
            return {'mismatch', tonumber(ARGV[3]) - attempts}
            """
    ) { reply in
        guard let parts = reply.array, parts.count == 2, let outcome = parts[0].string, let number = parts[1].int else {
            throw RedisClientError.unexpectedReply("activation check → \(reply)")
        }
        return (outcome, number)
    }
}
