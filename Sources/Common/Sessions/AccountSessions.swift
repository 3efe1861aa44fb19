import NIOCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The login sessions of accounts in Redis, as both services see them: auth-api creates, reads and
/// ends single sessions; users-api ends or refreshes every session of an account when its
/// password, email or existence changes (a reset, a change, a deletion).
///
/// Layout: `registrar:session:<sha256(token)>` is a session's hash, `registrar:user-sessions:<id>`
/// the account's sorted set of digests (by expiry), and `registrar:security-stamp:<id>` the
/// account's *security stamp* for a short while after each change: a digest of what its
/// credentials are (``stamp(id:email:passwordHash:)``). A login carries the stamp users-api
/// reported when it checked the password, and the session is created only when no newer stamp is
/// recorded, so a login whose check began before a reset cannot create a session after it.
public struct AccountSessions: Sendable {
    /// Prefix of a session's key (followed by the token's SHA-256, hex).
    public static let sessionKeyPrefix = "registrar:session:"
    /// How long a recorded stamp fences logins in flight: far longer than any password check takes.
    public static let stampFence: Duration = .seconds(600)
    /// The stamp of an account that was deleted: no login of it can create a session any more.
    public static let deletedStamp = "deleted"

    /// The client used for every command.
    public let redis: RedisClient

    /// Creates the accessor.
    public init(redis: RedisClient) {
        self.redis = redis
    }

    /// The key of the session whose token has SHA-256 `digest` (hex).
    public static func sessionKey(_ digest: String) -> String { Self.sessionKeyPrefix + digest }

    /// The key of the sorted set of `userID`'s session digests.
    public static func indexKey(_ userID: UUID) -> String { "registrar:user-sessions:\(userID.uuidString.lowercased())" }

    /// The key of `userID`'s recorded security stamp.
    public static func stampKey(_ userID: UUID) -> String { "registrar:security-stamp:\(userID.uuidString.lowercased())" }

    /// An account's security stamp: 16 hex digits of SHA-256 over its id, email and password hash;
    /// it changes whenever the password or the email does.
    public static func stamp(id: UUID, email: String, passwordHash: String) -> String {
        String(sha256Hex("\(id.uuidString.lowercased())|\(email)|\(passwordHash)").prefix(16))
    }

    /// The profile as `GET /v1/users/me` returns it: ISO 8601 dates, sorted keys.
    public static func encode(_ profile: UserProfile) throws -> ByteBuffer {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = .sortedKeys
        return ByteBuffer(bytes: try encoder.encode(profile))
    }

    /// Records `stamp` for `userID` and ends every session of the account but `keeping` (the
    /// digest of the session that asked, for a password change); returns how many ended.
    @discardableResult
    public func endAll(userID: UUID, stamp: String, keeping digest: String? = nil) async throws -> Int {
        try await self.redis.evaluate(
            Self.updateScript,
            keys: [Self.indexKey(userID), Self.stampKey(userID)],
            arguments: [Self.sessionKeyPrefix, stamp, Self.stampFence.wholeMilliseconds, "end", digest ?? "", ""]
        )
    }

    /// Records `stamp` for `userID` and replaces the profile every live session holds (an email
    /// change), so `/me` never shows the old address; returns how many sessions were updated.
    @discardableResult
    public func refresh(userID: UUID, stamp: String, profile: UserProfile) async throws -> Int {
        try await self.redis.evaluate(
            Self.updateScript,
            keys: [Self.indexKey(userID), Self.stampKey(userID)],
            arguments: [Self.sessionKeyPrefix, stamp, Self.stampFence.wholeMilliseconds, "refresh", "", try Self.encode(profile)]
        )
    }

    /// KEYS: the account's session index, its stamp key. ARGV: session key prefix, stamp, stamp
    /// fence (ms), `end` or `refresh`, digest to keep (or ''), profile (for `refresh`).
    static let updateScript = RedisScript(
        integer: """
            redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
            local digests = redis.call('ZRANGE', KEYS[1], 0, -1)
            local count = 0
            for _, digest in ipairs(digests) do
                local key = ARGV[1] .. digest
                if ARGV[4] == 'refresh' then
                    if redis.call('EXISTS', key) == 1 then
                        redis.call('HSET', key, 'profile', ARGV[6])
                        count = count + 1
                    end
                elseif digest ~= ARGV[5] then
                    count = count + redis.call('DEL', key)
                    redis.call('ZREM', KEYS[1], digest)
                end
            end
            return count
            """,
        name: "account sessions update"
    )
}
