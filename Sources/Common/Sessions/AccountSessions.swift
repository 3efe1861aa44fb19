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
/// the account's sorted set of digests (by expiry), and `registrar:security-stamp:<id>`
/// (`<version>:<stamp>`) the account's *security stamp* for a short while after each change: a
/// digest of what its credentials are (``stamp(id:email:passwordHash:)``). A login carries the
/// stamp users-api reported when it checked the password, and the session is created only when no
/// other stamp is recorded, so a login whose check began before a reset cannot create a session
/// after it.
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

    /// Prefix of an account's session index (followed by its id, lower case).
    public static let indexKeyPrefix = "registrar:user-sessions:"

    /// The key of the sorted set of `userID`'s session digests.
    public static func indexKey(_ userID: UUID) -> String { Self.indexKeyPrefix + userID.uuidString.lowercased() }

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

    /// An account's security stamp as of one change, ordered by `version` (the account row's
    /// `updated_at` in milliseconds): an older change's stamp never replaces a newer one's, however
    /// late its Redis step runs.
    public struct Stamp: Sendable, Equatable {
        /// ``AccountSessions/stamp(id:email:passwordHash:)``, or ``AccountSessions/deletedStamp``.
        public var value: String
        /// Orders stamps: a higher one is newer.
        public var version: Int

        /// Creates a stamp.
        public init(value: String, version: Int) {
            self.value = value
            self.version = version
        }

        /// The stamp of a deleted account: newer than any other (10^15 ms is far beyond any
        /// `updated_at`, and within the integers Lua holds exactly).
        public static let deleted = Stamp(value: AccountSessions.deletedStamp, version: 1_000_000_000_000_000)
    }

    /// Ends every session of `userID` but the one whose token has SHA-256 `keeping` (hex), and
    /// when `stamp` is given records it (unless a newer one is recorded) and gives the kept
    /// session `profile`. Returns how many sessions ended.
    ///
    /// Called before a change commits (no stamp: ending sessions early does no harm) and after it
    /// (with the new stamp, which fences the logins in flight).
    @discardableResult
    public func end(userID: UUID, keeping digest: String? = nil, stamp: Stamp? = nil, profile: UserProfile? = nil) async throws -> Int {
        try await self.redis.evaluate(
            Self.updateScript,
            keys: [Self.indexKey(userID), Self.stampKey(userID)],
            arguments: [
                Self.sessionKeyPrefix, stamp?.value ?? "", stamp?.version ?? 0, Self.stampFence.wholeMilliseconds, digest ?? "",
                try profile.map(Self.encode) ?? ByteBuffer(),
            ]
        )
    }

    /// The stamp part of a recorded `version:stamp` value (Lua), shared by the scripts.
    public static let recordedStampLua = """
        local function recorded_stamp(value)
            if not value then return nil end
            return string.match(value, '^%d+:(.*)$') or value
        end
        """

    /// KEYS: the account's session index, its stamp key. ARGV: session key prefix, stamp (or ''),
    /// its version, stamp fence (ms), digest to keep (or ''), profile for the kept session (or '').
    static let updateScript = RedisScript(
        integer: """
            local fresh = true
            if ARGV[2] ~= '' then
                local current = redis.call('GET', KEYS[2])
                local version = current and tonumber(string.match(current, '^(%d+):'))
                if version and version > tonumber(ARGV[3]) then
                    fresh = false
                else
                    redis.call('SET', KEYS[2], ARGV[3] .. ':' .. ARGV[2], 'PX', ARGV[4])
                end
            end
            local count = 0
            for _, digest in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
                local key = ARGV[1] .. digest
                if digest == ARGV[5] then
                    if fresh and ARGV[6] ~= '' and redis.call('EXISTS', key) == 1 then redis.call('HSET', key, 'profile', ARGV[6]) end
                else
                    count = count + redis.call('DEL', key)
                    redis.call('ZREM', KEYS[1], digest)
                end
            end
            return count
            """,
        name: "account sessions update"
    )
}
