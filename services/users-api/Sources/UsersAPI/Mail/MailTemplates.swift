import Common

/// The outbox payloads users-api writes. `subject` and `body` are the English text the seed's
/// psql query reads ("Your code is 1234": its `grep -Eo '[0-9]{4}'` snippets rely on no other
/// digits appearing); `data` holds the values of the mailer's templates, which build the mail
/// itself in the reader's language.
enum MailTemplates {
    static func verificationCode(to email: String, code: String) -> OutboxPayload {
        OutboxPayload(to: email, subject: "Your verification code", body: "Your code is \(code)", data: ["code": code])
    }

    static func passwordResetCode(to email: String, code: String) -> OutboxPayload {
        OutboxPayload(to: email, subject: "Your password reset code", body: "Your password reset code is \(code)", data: ["code": code])
    }

    static func passwordChanged(to email: String) -> OutboxPayload {
        OutboxPayload(
            to: email,
            subject: "Your password was changed",
            body: "The password of your account was just changed, and every other session was signed out. "
                + "If it was not you, reset your password now (POST /v1/users/password/forgot).",
            data: [:]
        )
    }

    static func emailChangeCode(to email: String, code: String) -> OutboxPayload {
        OutboxPayload(to: email, subject: "Confirm your new email address", body: "Your confirmation code is \(code)", data: ["code": code])
    }

    static func emailChanged(to oldEmail: String) -> OutboxPayload {
        OutboxPayload(
            to: oldEmail,
            subject: "Your email address was changed",
            body: "Your account no longer uses this address: its owner confirmed another one. "
                + "If it was not you, reset your password from the new address or contact support.",
            data: [:]
        )
    }

    static func accountDeleted(to email: String) -> OutboxPayload {
        OutboxPayload(
            to: email,
            subject: "Your account was deleted",
            body: "Your account and everything tied to it were deleted at your request. "
                + "If it was not you, register again: the address is free.",
            data: [:]
        )
    }

    /// The payload of a row that is written and never sent (no personal data in it).
    static let suppressed = OutboxPayload(to: "", subject: "", body: "", data: [:])

    static func alreadyRegistered(to email: String) -> OutboxPayload {
        OutboxPayload(
            to: email,
            subject: "Your account already exists",
            body: "Someone tried to register this address, which already has an active account. "
                + "If it was you, log in instead. If not, you can ignore this email: nothing was changed.",
            data: [:]
        )
    }
}
