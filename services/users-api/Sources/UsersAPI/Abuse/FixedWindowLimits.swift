import Common

/// Fixed-window counters in Redis, shared by every replica: each names a key, a limit and a window.
/// ``reserve(_:)`` checks every counter and, only when all are under their limit, counts one more
/// in each, atomically (one Lua script: parallel requests cannot slip past a limit).
struct FixedWindowLimits: Sendable {
    /// One counter.
    struct Counter: Sendable {
        var key: String
        var limit: Int
        var window: Duration
    }

    /// The first counter that was at its limit, and when it frees.
    struct Exceeded: Sendable, Equatable {
        var index: Int
        var retryAfter: Duration
    }

    let redis: RedisClient

    /// Counts one in every counter, or none when one is at its limit (then returns which).
    func reserve(_ counters: [Counter]) async throws -> Exceeded? {
        let (index, wait) = try await self.redis.evaluate(
            Self.reserveScript,
            keys: counters.map(\.key),
            arguments: counters.flatMap { [$0.limit, max(1, $0.window.wholeMilliseconds)] as [any RedisArgumentConvertible] }
        )
        return index == 0 ? nil : Exceeded(index: index - 1, retryAfter: .milliseconds(max(wait, 1000)))
    }

    /// Gives back one reservation in each counter (the work it paid for was not done).
    func release(_ counters: [Counter]) async {
        try? await self.redis.evaluate(Self.releaseScript, keys: counters.map(\.key))
    }

    /// Runs `body` inside one reservation of `counters`, given back when `body` fails (unless it
    /// may have been done after all: ``Error/mayHaveBeenDone``); throws `refusal(exceeded)`
    /// without running it when a counter is at its limit.
    func withReservation<Value: Sendable>(
        _ counters: [Counter],
        refusal: (Exceeded) -> any Error,
        _ body: () async throws -> Value
    ) async throws -> Value {
        if let exceeded = try await self.reserve(counters) { throw refusal(exceeded) }
        do {
            return try await body()
        } catch {
            if !error.mayHaveBeenDone { await self.release(counters) }
            throw error
        }
    }

    /// KEYS: counters. ARGV: limit and window (ms) of each. Returns {0, 0}, or {index (1-based) of
    /// the first full counter, ms until it frees}.
    static let reserveScript = RedisScript<(index: Int, wait: Int)>(
        """
        for i, key in ipairs(KEYS) do
            if tonumber(redis.call('GET', key) or '0') >= tonumber(ARGV[2 * i - 1]) then
                local ttl = redis.call('PTTL', key)
                if ttl < 0 then ttl = tonumber(ARGV[2 * i]) end
                return {i, ttl}
            end
        end
        for i, key in ipairs(KEYS) do
            if redis.call('INCR', key) == 1 then redis.call('PEXPIRE', key, ARGV[2 * i]) end
        end
        return {0, 0}
        """
    ) { reply in
        guard let parts = reply.array, parts.count == 2, let index = parts[0].int, let wait = parts[1].int else {
            throw RedisClientError.unexpectedReply("limit reservation → \(reply)")
        }
        return (index, wait)
    }

    /// KEYS: counters. Decrements each that is above zero.
    static let releaseScript = RedisScript(
        """
        for _, key in ipairs(KEYS) do
            if tonumber(redis.call('GET', key) or '0') > 0 then redis.call('DECR', key) end
        end
        return 1
        """
    )
}

extension Error {
    /// Whether the work that failed with this error may have been done even so (a lost `COMMIT`
    /// answer): limits and throttles it reserved are then kept.
    var mayHaveBeenDone: Bool { (self as? any DependencyUnavailableError)?.outcomeUnknown ?? false }
}

/// Rate-limit keys never hold raw input: the normalised email or client address is digested.
enum LimitKey {
    /// 128 bits of SHA-256 of `value`, hex.
    static func digest(_ value: String) -> String { String(sha256Hex(value).prefix(32)) }

    /// The digest of a normalised email address.
    static func account(_ email: String) -> String { self.digest("email:" + EmailAddress.normalize(email)) }

    /// The digest of a client address.
    static func client(_ address: String) -> String { self.digest("client:" + address) }
}
