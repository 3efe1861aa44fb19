import Common

/// The outbox payloads users-api writes. `subject` and `body` are the English text the seed's
/// psql query reads ("Your code is 1234": its `grep -Eo '[0-9]{4}'` snippets rely on no other
/// digits appearing); `data` holds the values of the mailer's templates, which build the mail
/// itself in the reader's language.
enum MailTemplates {
    static func verificationCode(to email: String, code: String) -> OutboxPayload {
        OutboxPayload(to: email, subject: "Your verification code", body: "Your code is \(code)", data: ["code": code])
    }

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
