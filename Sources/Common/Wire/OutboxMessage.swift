/// The topics of outbox rows, written by users-api and read by the mailer.
public enum OutboxTopic {
    /// A verification code for a pending account.
    public static let verificationCode = "user.verification_code"
    /// Someone tried to register an address that already has an active account.
    public static let alreadyRegistered = "user.already_registered"
    /// A password-reset code for an active account (`POST /v1/users/password/forgot`).
    public static let passwordResetCode = "user.password_reset_code"
    /// The account's password was changed or reset: a notice to its owner.
    public static let passwordChanged = "user.password_changed"
    /// A code confirming a new address, sent to that address (`POST /v1/users/me/email`).
    public static let emailChangeCode = "user.email_change_code"
    /// The account moved to another address: a notice to the old one.
    public static let emailChanged = "user.email_changed"
    /// The account was deleted: a notice to its address.
    public static let accountDeleted = "user.account_deleted"

    /// The topics whose mail carries a code, and is worthless once the code expired.
    public static let carryingCodes = [verificationCode, passwordResetCode, emailChangeCode]

    /// Every topic users-api writes; the mailer has a template for each (the topic without `user.`).
    public static let all = [
        verificationCode, alreadyRegistered, passwordResetCode, passwordChanged, emailChangeCode, emailChanged, accountDeleted,
    ]
}

/// The Postgres `NOTIFY` channel users-api signals on each outbox insert and the mailer `LISTEN`s on.
public enum OutboxNotification {
    /// `outbox`.
    public static let channel = "outbox"
}

/// The `payload` of an outbox row: an email, in the seed's shape (`to`, `subject`, `body` in
/// English, which the seed's psql query reads), plus the values the mailer's templates need.
public struct OutboxPayload: Codable, Sendable, Equatable {
    /// The recipient address.
    public var to: String
    /// The subject line (English).
    public var subject: String
    /// The plain-text body (English).
    public var body: String
    /// The template's values (`code` …); the template is named by the row's topic. Nil (absent
    /// in the JSON) for rows written before templates, which the mailer sends as `subject`/`body`.
    public var data: [String: String]?

    /// Creates a payload.
    public init(to: String, subject: String, body: String, data: [String: String]? = nil) {
        self.to = to
        self.subject = subject
        self.body = body
        self.data = data
    }
}
