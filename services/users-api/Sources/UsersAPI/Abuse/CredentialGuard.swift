import Common

/// The one budget of wrong passwords, shared by every route that checks one (login through the
/// internal API, activation, resend, and any later one), in the spirit of NIST SP 800-63B §5.2.2
/// and OWASP ASVS 5 (6.1.1, 6.3.1):
///
/// - per account and client address: `pairLimit` failures per `window` (`LOGIN_MAX_FAILURES`);
/// - per client address, across accounts: `clientLimit` per `window` (credential stuffing);
/// - per account, from anywhere: `accountLimit` per `accountWindow` (≤ 100 a day, NIST) — except
///   for a client address that proved the password of that account in the last `knownClientTTL`,
///   so strangers spending the account's budget cannot lock its owner out.
///
/// ``reserve(email:client:)`` counts the attempt in every budget atomically *before* bcrypt runs
/// (parallel attempts cannot slip past a limit) and refuses with 429 `too_many_login_failures`
/// before anything about the account is looked up; ``succeeded(_:)`` gives the reservation back.
/// Keys hold digests of the normalised email and the client address, never raw input.
struct CredentialGuard: Sendable {
    /// A reserved attempt, settled by ``succeeded(_:)`` (a failure keeps its reservation).
    struct Attempt: Sendable {
        fileprivate let keys: [String]
    }

    let redis: RedisClient
    let pairLimit: Int
    let clientLimit: Int
    let window: Duration
    let accountLimit: Int
    let accountWindow: Duration
    let knownClientTTL: Duration

    private static let prefix = "registrar:credential-failures:"

    /// Counts one attempt for `email` from `client`, or throws 429 when a budget is spent.
    func reserve(email: String, client: String) async throws -> Attempt {
        let account = LimitKey.account(email)
        let address = LimitKey.client(client)
        let keys = [
            Self.prefix + "pair:\(account):\(address)", Self.prefix + "client:\(address)", Self.prefix + "account:\(account)",
            Self.prefix + "known:\(account):\(address)",
        ]
        let wait = try await self.redis.evaluate(
            Self.reserveScript,
            keys: keys,
            arguments: [
                self.pairLimit, self.clientLimit, self.accountLimit, self.window.wholeMilliseconds, self.accountWindow.wholeMilliseconds,
            ]
        )
        if wait > 0 { throw Self.refusal(retryAfter: .milliseconds(wait)) }
        return Attempt(keys: keys)
    }

    /// The password was right: the reservation is given back, the pair's failures are forgotten,
    /// and the client is known to the account from now on.
    func succeeded(_ attempt: Attempt) async throws {
        try await self.redis.evaluate(Self.successScript, keys: attempt.keys, arguments: [self.knownClientTTL.wholeMilliseconds])
    }

    /// No password was checked after all (the check failed for another reason): the reservation is
    /// given back, nothing else changes.
    func release(_ attempt: Attempt) async {
        try? await self.redis.evaluate(Self.releaseScript, keys: Array(attempt.keys.prefix(3)))
    }

    /// 429 `too_many_login_failures` with `Retry-After`.
    static func refusal(retryAfter: Duration) -> ProblemDetails {
        .tooManyRequests(
            code: "too_many_login_failures",
            title: "Too many failed sign-ins",
            detail: "Too many wrong passwords for this account or from this address; try again later.",
            retryAfter: retryAfter
        )
    }

    /// KEYS: pair, client, account, known-client marker. ARGV: pair limit, client limit, account
    /// limit, window (ms), account window (ms). Returns 0 (reserved) or the ms until a budget frees.
    static let reserveScript = RedisScript(
        integer: """
            local windows = {ARGV[4], ARGV[4], ARGV[5]}
            local limits = {tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])}
            local known = redis.call('EXISTS', KEYS[4]) == 1
            local wait = 0
            for i = 1, 3 do
                if not (i == 3 and known) and tonumber(redis.call('GET', KEYS[i]) or '0') >= limits[i] then
                    local ttl = redis.call('PTTL', KEYS[i])
                    if ttl < 0 then ttl = tonumber(windows[i]) end
                    wait = math.max(wait, ttl)
                end
            end
            if wait > 0 then return wait end
            for i = 1, 3 do
                if redis.call('INCR', KEYS[i]) == 1 then redis.call('PEXPIRE', KEYS[i], windows[i]) end
            end
            return 0
            """,
        name: "credential reservation"
    )

    /// KEYS: pair, client, account. Gives one reservation back in each.
    static let releaseScript = FixedWindowLimits.releaseScript

    /// KEYS: pair, client, account, known-client marker. ARGV: known-client TTL (ms).
    static let successScript = RedisScript(
        """
        redis.call('DEL', KEYS[1])
        for i = 2, 3 do
            if tonumber(redis.call('GET', KEYS[i]) or '0') > 0 then redis.call('DECR', KEYS[i]) end
        end
        redis.call('SET', KEYS[4], '1', 'PX', ARGV[1])
        return 1
        """
    )
}
