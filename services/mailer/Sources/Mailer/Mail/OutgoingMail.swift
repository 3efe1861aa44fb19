import Common

/// One message ready to send: the envelope, the RFC 5322 source, and the stream entry that
/// carries the same message to the SMTP mock.
struct OutgoingMail: Sendable, Equatable {
    /// `MAIL FROM`: the address of `MAIL_FROM`.
    var envelopeFrom: String
    /// `RCPT TO`.
    var recipients: [String]
    /// The Message-ID without its angle brackets: `<idempotency key>@<MAIL_FROM's domain>`.
    var messageID: String
    /// The message (CRLF line ends, 7-bit: quoted-printable parts and encoded words).
    var raw: String
    /// The same message for the `stream` transport.
    var streamEntry: MailStreamEntry
}
