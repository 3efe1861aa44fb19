import Common
import Foundation

/// Turns a claimed outbox row into a message: the template for its topic in the reader's best
/// language (the row's `language`), as a `multipart/alternative` RFC 5322 message from `MAIL_FROM`
/// whose Message-ID is the row's idempotency key, so every attempt sends the same message.
struct MailComposer: Sendable {
    let from: MailAddress
    let templates: MailTemplates

    /// A recipient that cannot go into `RCPT TO:<…>` or a `To` header as is.
    struct InvalidRecipient: Error, CustomStringConvertible {
        var description: String { "the recipient is not a plain local@domain address" }
    }

    /// The message for `row`, dated `now`.
    func compose(_ row: OutboxRow, now: Date = Date()) throws -> OutgoingMail {
        // users-api validates addresses; the mailer still never writes a CR, LF, space or angle
        // bracket from a row into a command or a header.
        guard let recipient = MailAddress(row.payload.to), recipient.displayName == nil, recipient.address == row.payload.to else {
            throw InvalidRecipient()
        }
        let name = row.topic.split(separator: ".").last.map(String.init) ?? row.topic
        let rendered: MailTemplates.Rendered
        if let data = row.payload.data,
            let templated = try self.templates.render(
                name,
                preference: LanguagePreference(stored: row.language),
                values: data.merging(["email": row.payload.to]) { own, _ in own }
            )
        {
            rendered = templated
        } else {
            // A row from before templates, or a topic without one: its own English text.
            let paragraphs = row.payload.body.split(separator: "\n").map { "<p>\(MailTemplates.escapeHTML(String($0)))</p>" }
            rendered = MailTemplates.Rendered(
                language: MailTemplates.defaultLanguage,
                subject: row.payload.subject,
                text: row.payload.body,
                html: "<!doctype html>\n<html><body>\n\(paragraphs.joined(separator: "\n"))\n</body></html>\n"
            )
        }
        let key = row.idempotencyKey.uuidString.lowercased()
        let messageID = "\(key)@\(self.from.domain)"
        let raw = MIMEMessage(
            from: self.from,
            to: row.payload.to,
            subject: rendered.subject,
            date: now,
            messageID: messageID,
            language: rendered.language,
            text: rendered.text,
            html: rendered.html
        ).rendered
        return OutgoingMail(
            envelopeFrom: self.from.address,
            recipients: [row.payload.to],
            messageID: messageID,
            raw: raw,
            streamEntry: MailStreamEntry(
                messageID: String(row.id),
                idempotencyKey: key,
                topic: row.topic,
                to: row.payload.to,
                subject: rendered.subject,
                body: rendered.text,
                createdAt: row.createdAt,
                raw: raw
            )
        )
    }
}
