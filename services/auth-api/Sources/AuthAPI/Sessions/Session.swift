import NIOCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One login session as stored in Redis (the token itself is never stored: its SHA-256 is the key).
struct Session: Sendable, Equatable {
    /// A public handle: the first 16 hex digits of the token's SHA-256.
    var id: String
    var userID: UUID
    var createdAt: Date
    var expiresAt: Date
    var lastSeenAt: Date?
    var userAgent: String?
    /// The account's profile as users-api reported it at login, encoded as the body of
    /// `GET /v1/users/me`; nil for a session created without one (then /me asks users-api).
    var profile: ByteBuffer?
}

/// A session as `GET /v1/users/me/sessions` lists it.
struct SessionSummary: Codable, Sendable, Equatable {
    var id: String
    var createdAt: Date
    var expiresAt: Date
    var lastSeenAt: Date?
    var userAgent: String?
    var current: Bool

    enum CodingKeys: String, CodingKey {
        case id, current
        case createdAt = "created_at"
        case expiresAt = "expires_at"
        case lastSeenAt = "last_seen_at"
        case userAgent = "user_agent"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.id, forKey: .id)
        try container.encode(self.createdAt, forKey: .createdAt)
        try container.encode(self.expiresAt, forKey: .expiresAt)
        try container.encode(self.lastSeenAt, forKey: .lastSeenAt)
        try container.encode(self.userAgent, forKey: .userAgent)
        try container.encode(self.current, forKey: .current)
    }
}
