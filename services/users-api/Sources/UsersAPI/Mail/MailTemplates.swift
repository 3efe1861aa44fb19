import Common

/// The emails users-api sends. The code mail keeps the seed's wording, "Your code is 1234", which
/// its README's `grep -Eo '[0-9]{4}'` snippets rely on: no other digits appear in the body.
enum MailTemplates {
    static func verificationCode(to email: String, code: String) -> OutboxPayload {
        OutboxPayload(to: email, subject: "Your verification code", body: "Your code is \(code)")
    }

    static func alreadyRegistered(to email: String) -> OutboxPayload {
        OutboxPayload(
            to: email,
            subject: "Your account already exists",
            body: "Someone tried to register this address, which already has an active account. "
                + "If it was you, log in instead. If not, you can ignore this email: nothing was changed."
        )
    }
}
