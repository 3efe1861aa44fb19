import Common
import NIOCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Sessions in Redis (the layout is Common's ``AccountSessions``, which users-api also uses to end
/// or refresh an account's sessions). The key is SHA-256(token), so reading Redis never yields a
/// usable token; a per-user sorted set (by expiry) lists and revokes a user's sessions. Redis is
/// shared by every auth-api replica, so a revoked session is dead everywhere at once.
///
/// A session also holds the account's profile, as users-api reported it at login and refreshed by
/// users-api when the email changes, so `GET /v1/users/me` is one Redis round trip.
///
/// A session ends at its absolute expiry (`ttl`) or once unused for `idleTimeout`, whichever
/// comes first (OWASP ASVS 5 7.3.1, 7.3.2). Use is recorded at most every `idleTimeout / 4` (and
/// at least once a minute), so a session may end up to that much before a full idle timeout.
///
/// An account holds at most `maxPerUser` live sessions (`SESSION_MAX_PER_USER`): a login past it
/// ends the account's oldest session, so no account can grow Redis without bound.
struct SessionStore: Sendable {
    let redis: RedisClient
    let ttl: Duration
    let idleTimeout: Duration
    let maxPerUser: Int

    static func sessionKey(_ digest: String) -> String { AccountSessions.sessionKey(digest) }
    static func indexKey(_ userID: UUID) -> String { AccountSessions.indexKey(userID) }

    /// How often use is recorded: a quarter of the idle timeout, at most a minute.
    var touchInterval: Duration { min(.seconds(60), self.idleTimeout / 4) }

    /// Creates a session for the account `userID`, holding `profile` (the /me body) when given;
    /// returns the token (shown once, to the client) and the session, or nil when the account's
    /// credentials changed since `stamp` was read (``AccountSessions``: the login checked a password
    /// that a reset, change or deletion has since replaced).
    func create(
        userID: UUID,
        profile: UserProfile?,
        userAgent: String?,
        stamp: String?,
        now: Date = Date()
    ) async throws -> (token: String, session: Session)? {
        let token = Secrets.opaqueToken()
        let digest = sha256Hex(token)
        let session = Session(
            id: String(digest.prefix(16)),
            userID: userID,
            createdAt: now,
            expiresAt: now.addingTimeInterval(Double(self.ttl.wholeMilliseconds) / 1000),
            lastSeenAt: now,
            userAgent: userAgent.map { String($0.prefix(256)) },
            profile: try profile.map(AccountSessions.encode)
        )
        let ended = try await self.redis.evaluate(
            Self.createScript,
            keys: [Self.sessionKey(digest), Self.indexKey(userID), AccountSessions.stampKey(userID)],
            arguments: [
                session.id, userID.uuidString.lowercased(), Self.milliseconds(now), Self.milliseconds(session.expiresAt),
                session.userAgent ?? "", self.ttl.wholeMilliseconds, digest, session.profile ?? ByteBuffer(), self.maxPerUser,
                AccountSessions.sessionKeyPrefix, stamp ?? "",
            ]
        )
        return ended < 0 ? nil : (token, session)
    }

    /// The live session whose token has SHA-256 `digest` (hex), recording that it was seen, or
    /// nil; a session idle for longer than `idleTimeout` is ended here.
    func session(digest: String, now: Date = Date()) async throws -> Session? {
        try await self.redis.evaluate(
            Self.touchScript,
            keys: [Self.sessionKey(digest)],
            arguments: [
                Self.milliseconds(now), self.idleTimeout.wholeMilliseconds, self.touchInterval.wholeMilliseconds,
                AccountSessions.indexKeyPrefix, digest,
            ]
        )
    }

    /// Records `profile` in the live session whose token has SHA-256 `digest` (a session created
    /// without one); returns the encoded profile.
    func storeProfile(_ profile: UserProfile, digest: String) async throws -> ByteBuffer {
        let encoded = try AccountSessions.encode(profile)
        try await self.redis.evaluate(Self.storeProfileScript, keys: [Self.sessionKey(digest)], arguments: [encoded])
        return encoded
    }

    /// Ends the session whose token has SHA-256 `digest`.
    func revoke(digest: String, userID: UUID) async throws {
        try await self.redis.delete(keys: [Self.sessionKey(digest)])
        try await self.redis.zrem(Self.indexKey(userID), members: [digest])
    }

    /// Ends the session of `userID` whose public id is `id`; false when it has none such.
    func revoke(id: String, userID: UUID) async throws -> Bool {
        try await self.redis.evaluate(
            Self.revokeByIDScript,
            keys: [Self.indexKey(userID)],
            arguments: [AccountSessions.sessionKeyPrefix, id]
        ) == 1
    }

    /// Ends every session of `userID`.
    func revokeAll(userID: UUID) async throws {
        try await self.redis.evaluate(Self.revokeAllScript, keys: [Self.indexKey(userID)], arguments: [AccountSessions.sessionKeyPrefix])
    }

    /// The user's live sessions, oldest first, with the digest of each (to mark the current one).
    func list(userID: UUID, now: Date = Date()) async throws -> [(digest: String, session: Session)] {
        let index = Self.indexKey(userID)
        let digests = try await self.redis.zrangeByScore(index, atLeast: Self.milliseconds(now))
        return try await withThrowingTaskGroup(of: (String, Session?).self) { group in
            for digest in digests {
                group.addTask {
                    let values = try await self.redis.hmget(
                        Self.sessionKey(digest),
                        fields: ["id", "user_id", "created_at", "expires_at", "last_seen_at", "user_agent"]
                    )
                    return (digest, Self.decode(.array(values.map { $0.map(RESPValue.bulkString) ?? .null })))
                }
            }
            var sessions: [(digest: String, session: Session)] = []
            let idleSince = now.addingTimeInterval(-Double(self.idleTimeout.wholeMilliseconds) / 1000)
            for try await (digest, session) in group {
                if let session, (session.lastSeenAt ?? session.createdAt) >= idleSince { sessions.append((digest, session)) }
            }
            return sessions.sorted { $0.session.createdAt < $1.session.createdAt }
        }
    }

    private static func milliseconds(_ date: Date) -> Int { Int((date.timeIntervalSince1970 * 1000).rounded()) }

    /// Decodes `[id, user_id, created_at, expires_at, last_seen_at, user_agent]`, then `profile` if asked for.
    private static func decode(_ reply: RESPValue) -> Session? {
        guard let values = reply.array, values.count >= 6, let id = values[0].string,
            let user = values[1].string.flatMap(UUID.init(uuidString:)), let created = values[2].int, let expires = values[3].int
        else { return nil }
        func date(_ ms: Int) -> Date { Date(timeIntervalSince1970: Double(ms) / 1000) }
        let agent = values[5].string.flatMap { $0.isEmpty ? nil : $0 }
        return Session(
            id: id,
            userID: user,
            createdAt: date(created),
            expiresAt: date(expires),
            lastSeenAt: values[4].int.map(date),
            userAgent: agent,
            profile: values.count > 6 ? values[6].bytes.flatMap { $0.readableBytes > 0 ? $0 : nil } : nil
        )
    }

    /// KEYS: session hash, user index, the account's security stamp. ARGV: id, user id, created
    /// (ms), expires (ms), user agent, ttl (ms), digest, profile (the /me body, or empty), most
    /// sessions per user, session key prefix, the stamp the login read (or empty). Returns how many
    /// older sessions it ended to stay within the cap, or -1 (nothing created) when a different
    /// stamp is recorded.
    static let createScript = RedisScript(
        integer: AccountSessions.recordedStampLua + """

            local stamp = recorded_stamp(redis.call('GET', KEYS[3]))
            if stamp and stamp ~= ARGV[11] then return -1 end
            redis.call('HSET', KEYS[1], 'id', ARGV[1], 'user_id', ARGV[2], 'created_at', ARGV[3], 'expires_at', ARGV[4],
                'last_seen_at', ARGV[3], 'user_agent', ARGV[5], 'profile', ARGV[8])
            redis.call('PEXPIRE', KEYS[1], ARGV[6])
            redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[3])
            redis.call('ZADD', KEYS[2], ARGV[4], ARGV[7])
            redis.call('PEXPIRE', KEYS[2], ARGV[6])
            local excess = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[9])
            if excess > 0 then
                local oldest = redis.call('ZPOPMIN', KEYS[2], excess)
                for i = 1, #oldest, 2 do redis.call('DEL', ARGV[10] .. oldest[i]) end
            end
            return math.max(excess, 0)
            """,
        name: "session creation"
    )

    /// KEYS: session hash. ARGV: now (ms), idle timeout (ms), touch interval (ms), index key
    /// prefix, the token's digest. Ends a session idle for longer than the timeout (and takes it
    /// out of its account's index); updates `last_seen_at` at most once per interval.
    static let touchScript = RedisScript<Session?>(
        """
        local s = redis.call('HMGET', KEYS[1], 'id', 'user_id', 'created_at', 'expires_at', 'last_seen_at', 'user_agent', 'profile')
        if not s[1] then return false end
        local seen = tonumber(s[5] or s[3] or '0')
        if tonumber(ARGV[1]) - seen > tonumber(ARGV[2]) then
            redis.call('DEL', KEYS[1])
            redis.call('ZREM', ARGV[4] .. s[2], ARGV[5])
            return false
        end
        if tonumber(ARGV[1]) - seen >= tonumber(ARGV[3]) then
            redis.call('HSET', KEYS[1], 'last_seen_at', ARGV[1])
            s[5] = ARGV[1]
        end
        return s
        """,
        reply: Self.decode
    )

    /// KEYS: session hash. ARGV: profile. Never recreates an ended session.
    static let storeProfileScript = RedisScript(
        """
        if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'profile', ARGV[1]) end
        return 1
        """
    )

    /// KEYS: user index. ARGV: session key prefix, public id (the digest's first 16 hex digits).
    /// Returns 1 when a session was ended.
    static let revokeByIDScript = RedisScript(
        integer: """
            for _, digest in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
                if string.sub(digest, 1, 16) == ARGV[2] then
                    redis.call('ZREM', KEYS[1], digest)
                    return redis.call('DEL', ARGV[1] .. digest)
                end
            end
            return 0
            """,
        name: "session revocation by id"
    )

    /// KEYS: user index. ARGV: session key prefix.
    static let revokeAllScript = RedisScript(
        """
        local digests = redis.call('ZRANGE', KEYS[1], 0, -1)
        for _, digest in ipairs(digests) do redis.call('DEL', ARGV[1] .. digest) end
        redis.call('DEL', KEYS[1])
        return #digests
        """
    )
}
