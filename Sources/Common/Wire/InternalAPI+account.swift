#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The internal routes behind the public account routes of auth-api (`/v1/users/me/…`): auth-api
/// has authenticated the session; users-api checks the password, changes the account and ends or
/// refreshes its sessions. Every 4xx is a problem auth-api relays unchanged. auth-api passes the
/// client's `Accept-Language` on, for the language of the mail each route sends.
extension InternalAPI {
    /// `POST` ``ChangePasswordRequest`` → 204; 403 `invalid_password`, 422, 429.
    public static func passwordPath(_ id: UUID) -> String { Self.userPath(id) + "/password" }
    /// `POST` ``ChangeEmailRequest`` → 202 (a code mailed to the new address); 403, 422, 429.
    public static func emailPath(_ id: UUID) -> String { Self.userPath(id) + "/email" }
    /// `POST` ``ConfirmEmailRequest`` → 200 ``UserProfile``; 400 `invalid_code`, 409 `email_taken`
    /// or `account_changed`, 429.
    public static func emailConfirmPath(_ id: UUID) -> String { Self.userPath(id) + "/email/confirm" }
    /// `DELETE` with ``DeleteAccountRequest`` → 204; 403 `invalid_password`, 429.
    public static func accountPath(_ id: UUID) -> String { Self.userPath(id) }
}

/// The body of `POST /internal/v1/users/{id}/password`.
public struct ChangePasswordRequest: Codable, Sendable, Equatable {
    /// The password the account has now.
    public var currentPassword: String
    /// The new password (the password policy applies).
    public var newPassword: String
    /// The client's address, charged in the credential budget for a wrong current password.
    public var clientAddress: String
    /// The SHA-256 (hex) of the token of the session that asked: it stays; every other one ends.
    public var keepSession: String?

    /// Creates a request.
    public init(currentPassword: String, newPassword: String, clientAddress: String, keepSession: String?) {
        self.currentPassword = currentPassword
        self.newPassword = newPassword
        self.clientAddress = clientAddress
        self.keepSession = keepSession
    }

    enum CodingKeys: String, CodingKey {
        case currentPassword = "current_password"
        case newPassword = "new_password"
        case clientAddress = "client_address"
        case keepSession = "keep_session"
    }
}

/// The body of `POST /internal/v1/users/{id}/email`.
public struct ChangeEmailRequest: Codable, Sendable, Equatable {
    /// The account's password.
    public var password: String
    /// The address to move to; a code is mailed there.
    public var newEmail: String
    /// The client's address, charged in the credential budget for a wrong password.
    public var clientAddress: String

    /// Creates a request.
    public init(password: String, newEmail: String, clientAddress: String) {
        self.password = password
        self.newEmail = newEmail
        self.clientAddress = clientAddress
    }

    enum CodingKeys: String, CodingKey {
        case password
        case newEmail = "new_email"
        case clientAddress = "client_address"
    }
}

/// The body of `POST /internal/v1/users/{id}/email/confirm`.
public struct ConfirmEmailRequest: Codable, Sendable, Equatable {
    /// The code mailed to the new address.
    public var code: String
    /// The SHA-256 (hex) of the token of the session that asked: it stays (with the new profile);
    /// every other one ends.
    public var keepSession: String?

    /// Creates a request.
    public init(code: String, keepSession: String? = nil) {
        self.code = code
        self.keepSession = keepSession
    }

    enum CodingKeys: String, CodingKey {
        case code
        case keepSession = "keep_session"
    }
}

/// The body of `DELETE /internal/v1/users/{id}`.
public struct DeleteAccountRequest: Codable, Sendable, Equatable {
    /// The account's password.
    public var password: String
    /// The client's address, charged in the credential budget for a wrong password.
    public var clientAddress: String

    /// Creates a request.
    public init(password: String, clientAddress: String) {
        self.password = password
        self.clientAddress = clientAddress
    }

    enum CodingKeys: String, CodingKey {
        case password
        case clientAddress = "client_address"
    }
}
