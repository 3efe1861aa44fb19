import Common
import Foundation
import NIOCore

/// Emailed codes of one ``Purpose`` (activation, password reset, email change), their resend
/// throttle and their owner's failure budget, in Redis.
///
/// An owner (an account id, or for a reset the digest of an address) may have a few live codes at
/// once (at most ``maxLiveCodes``), each stored as a salt, SHA-256(salt ‖ code) and an expiry, and
/// each with a *binding* that takes effect with it:
/// - activation: the password it activates with, the account's own (nil) or the one a later
///   registration of the still-pending address chose. So re-registering a pending address never
///   changes what its owner knows: the new password takes effect only with the code sent for it;
/// - email change: the new address it confirms;
/// - password reset: none.
///
/// ``check(owner:match:)`` is one Lua script: consume the matched code (single use: every code of
/// the owner goes), or count the wrong try against the codes (burned after `maxAttempts`) and
/// the owner's failure budget, atomically.
struct CodeStore: Sendable {
    /// What the codes are for; each purpose has its own keys.
    enum Purpose: String, Sendable {
        case activation
        case passwordReset = "password-reset"
        case emailChange = "email-change"
    }

    /// The most codes an account holds at once; issuing one more drops the oldest.
    static let maxLiveCodes = 5

    let purpose: Purpose
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

    /// A live code that matches what the client sent, and its binding.
    struct Match: Sendable, Equatable {
        /// The code's field in the owner's hash.
        var field: String
        /// What it was issued with: a password hash, a new address, or nil.
        var binding: String?
    }

    /// The owner of an account's codes: its id.
    static func owner(_ userID: UUID) -> String { userID.uuidString.lowercased() }
    /// The owner of an address's codes: the address's digest (a reset code is keyed by the address).
    static func owner(email: String) -> String { LimitKey.account(email) }

    func codeKey(_ owner: String) -> String { "registrar:\(self.purpose.rawValue):code:\(owner)" }
    func failuresKey(_ owner: String) -> String { "registrar:\(self.purpose.rawValue):failures:\(owner)" }
    func throttleKey(_ email: String) -> String { "registrar:\(self.purpose.rawValue):throttle:\(LimitKey.account(email))" }

    /// Issues a new code for `owner` with `binding`. It replaces a live code with the same
    /// binding; the others stay (up to ``maxLiveCodes``). The wrong-try count starts again; the
    /// failure budget does too for a reset code (else a stranger's wrong guesses would lock the
    /// owner out of resetting: `RESET_CODE_LENGTH` digits and the mail cap bound the guessing),
    /// not for the others (they also need a password or a session).
    func issue(owner: String, binding: String? = nil) async throws -> String {
        let code = Secrets.numericCode(length: self.codeLength)
        let digest = SaltedDigest(secret: code)
        try await self.redis.evaluate(
            Self.issueScript,
            keys: [self.codeKey(owner), self.failuresKey(owner)],
            arguments: [
                "c:" + digest.salt.hexString, digest.digest.hexString, max(1, self.codeTTL.wholeMilliseconds), binding ?? "",
                Self.maxLiveCodes, self.purpose == .passwordReset ? 1 : 0,
            ]
        )
        return code
    }

    /// The live code of `owner` that `code` is, if any (compared in constant time, nothing consumed).
    func match(owner: String, code: String) async throws -> Match? {
        var found: Match?
        for (field, bytes) in try await self.redis.hgetall(self.codeKey(owner)) {
            let value = String(buffer: bytes)
            guard field.hasPrefix("c:"), let salt = [UInt8](hex: String(field.dropFirst(2))) else { continue }
            let parts = value.split(separator: "|", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3, let digest = [UInt8](hex: String(parts[0])) else { continue }
            if SaltedDigest(salt: salt, digest: digest).matches(code), found == nil {
                found = Match(field: field, binding: parts[2].isEmpty ? nil : String(parts[2]))
            }
        }
        return found
    }

    /// Consumes `match` if it is still live, else counts a wrong try (see ``Check``).
    func check(owner: String, match: Match?) async throws -> Check {
        let (outcome, number) = try await self.redis.evaluate(
            Self.checkScript,
            keys: [self.codeKey(owner), self.failuresKey(owner)],
            arguments: [
                match?.field ?? "", match?.binding ?? "", self.maxAttempts, self.maxFailures, self.failureWindow.wholeMilliseconds,
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

    /// Deletes every code and failure count of `owners` (accounts that were removed).
    func forget(owners: [String]) async throws {
        guard !owners.isEmpty else { return }
        try await self.redis.delete(keys: owners.flatMap { [self.codeKey($0), self.failuresKey($0)] })
    }

    /// Deletes every live code of `owners`, keeping their failure budgets (a password change
    /// voids outstanding codes; it must not refill the budget of someone guessing).
    func revoke(owners: [String]) async throws {
        guard !owners.isEmpty else { return }
        try await self.redis.delete(keys: owners.map(self.codeKey))
    }

    /// Takes the per-address throttle; returns nil when taken, or how long until it is free.
    func acquireThrottle(email: String) async throws -> Duration? {
        guard self.throttle > .zero else { return nil }
        let key = self.throttleKey(email)
        if try await self.redis.set(key, to: "1", expiresIn: self.throttle, onlyIfAbsent: true) { return nil }
        return try await self.redis.ttl(key) ?? .seconds(1)
    }

    /// Gives the throttle back after a failure, so the user can retry at once.
    func releaseThrottle(email: String) async {
        _ = try? await self.redis.delete(self.throttleKey(email))
    }

    /// Runs `body` (which sends a code or notice about `email`) under the address's throttle:
    /// throws `refusal(retryAfter)` while it is taken, and gives it back when `body` fails (unless
    /// the work may have been done after all: ``Error/mayHaveBeenDone``).
    func withThrottle<Value: Sendable>(
        email: String,
        refusal: (Duration) -> ProblemDetails,
        _ body: () async throws -> Value
    ) async throws -> Value {
        if let retryAfter = try await self.acquireThrottle(email: email) { throw refusal(retryAfter) }
        do {
            return try await body()
        } catch {
            if !error.mayHaveBeenDone { await self.releaseThrottle(email: email) }
            throw error
        }
    }

    /// Shared Lua: `codes(fields)` yields each code field with its value's expiry (ms, server time)
    /// and binding ('' for none). Values are `digest|expiry|binding`.
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

    /// KEYS: codes hash, failure counter. ARGV: field (`c:<salt>`), digest, TTL (ms), binding or '',
    /// most live codes, 1 to clear the failure counter.
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
            if ARGV[6] == '1' then redis.call('DEL', KEYS[2]) end
            return 1
            """
    )

    /// KEYS: codes hash, failure counter. ARGV: matched field or '', its binding or '',
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
