#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// users-api's internal API, used by auth-api. Not routed by the edge; every request carries
/// `Authorization: Bearer <INTERNAL_API_TOKEN>`.
///
/// `POST` verify answers 200 with ``VerifiedCredentials``, 401 `invalid_credentials`, 429
/// `too_many_login_failures` with `Retry-After` (the shared credential budget is spent: relay it),
/// or 503 with `Retry-After` (`overloaded`: relay it). The account routes (`InternalAPI+account`)
/// answer with problems auth-api relays as they are.
public enum InternalAPI {
    /// `POST` — verify an email and password.
    public static let verifyCredentialsPath = "/internal/v1/credentials/verify"
    /// `GET` — a user by id: `/internal/v1/users/{id}`.
    public static func userPath(_ id: UUID) -> String { "/internal/v1/users/\(id.uuidString.lowercased())" }
}

/// The body of `POST /internal/v1/credentials/verify`.
public struct VerifyCredentialsRequest: Codable, Sendable, Equatable {
    /// The email, as typed (it is normalised by users-api).
    public var email: String
    /// The password.
    public var password: String
    /// The address of the client that sent the credentials (as auth-api determined it), charged
    /// in the credential budget; absent from an older auth-api (then the caller's address is used).
    public var clientAddress: String?

    /// Creates a request.
    public init(email: String, password: String, clientAddress: String? = nil) {
        self.email = email
        self.password = password
        self.clientAddress = clientAddress
    }

    enum CodingKeys: String, CodingKey {
        case email, password
        case clientAddress = "client_address"
    }
}

/// A user's account state as the internal API reports it.
public enum AccountStatus: String, Codable, Sendable, Equatable {
    /// Registered, not yet activated.
    case pending
    /// Activated.
    case active
}

/// The 200 body of `POST /internal/v1/credentials/verify`: the account's whole profile.
///
/// `created_at` and `activated_at` were added after v1's first release; a consumer must accept
/// their absence (an older users-api) and then has no ``profile``.
public struct VerifiedCredentials: Codable, Sendable, Equatable {
    /// The user id.
    public var id: UUID
    /// The normalised email.
    public var email: String
    /// The account state.
    public var status: AccountStatus
    /// When the account was registered (absent from an older users-api).
    public var createdAt: Date?
    /// When it was activated, if it is active.
    public var activatedAt: Date?
    /// The account's security stamp when the password was checked (``AccountSessions``): a
    /// session is created only if no newer one was recorded since. Absent from an older users-api.
    public var securityStamp: String?

    /// Creates a response.
    public init(
        id: UUID,
        email: String,
        status: AccountStatus,
        createdAt: Date? = nil,
        activatedAt: Date? = nil,
        securityStamp: String? = nil
    ) {
        self.id = id
        self.email = email
        self.status = status
        self.createdAt = createdAt
        self.activatedAt = activatedAt
        self.securityStamp = securityStamp
    }

    /// The same account as a ``UserProfile``, when the response carried `created_at`.
    public var profile: UserProfile? {
        self.createdAt.map { UserProfile(id: self.id, email: self.email, status: self.status, createdAt: $0, activatedAt: self.activatedAt) }
    }

    enum CodingKeys: String, CodingKey {
        case id, email, status
        case createdAt = "created_at"
        case activatedAt = "activated_at"
        case securityStamp = "security_stamp"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.id.uuidString.lowercased(), forKey: .id)  // RFC 9562 prefers lower case
        try container.encode(self.email, forKey: .email)
        try container.encode(self.status, forKey: .status)
        if let createdAt = self.createdAt {
            try container.encode(createdAt, forKey: .createdAt)
            try container.encode(self.activatedAt, forKey: .activatedAt)  // null while pending, never absent
        }
        try container.encodeIfPresent(self.securityStamp, forKey: .securityStamp)
    }
}

/// The 200 body of `GET /internal/v1/users/{id}`, and of the public `GET /v1/users/me`.
public struct UserProfile: Codable, Sendable, Equatable {
    /// The user id.
    public var id: UUID
    /// The normalised email.
    public var email: String
    /// The account state.
    public var status: AccountStatus
    /// When the account was registered.
    public var createdAt: Date
    /// When it was activated, if it is active.
    public var activatedAt: Date?

    /// Creates a profile.
    public init(id: UUID, email: String, status: AccountStatus, createdAt: Date, activatedAt: Date?) {
        self.id = id
        self.email = email
        self.status = status
        self.createdAt = createdAt
        self.activatedAt = activatedAt
    }

    enum CodingKeys: String, CodingKey {
        case id, email, status
        case createdAt = "created_at"
        case activatedAt = "activated_at"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.id.uuidString.lowercased(), forKey: .id)
        try container.encode(self.email, forKey: .email)
        try container.encode(self.status, forKey: .status)
        try container.encode(self.createdAt, forKey: .createdAt)
        try container.encode(self.activatedAt, forKey: .activatedAt)  // null while pending, never absent
    }
}
