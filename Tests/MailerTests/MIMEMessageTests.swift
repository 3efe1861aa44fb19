import Common
import Foundation
import TestSupport
import Testing

@testable import Mailer

/// The messages the mailer builds: addresses, the 7-bit encodings (quoted-printable bodies,
/// RFC 2047 encoded words), the date, and the whole `multipart/alternative` message.
@Suite struct MIMEMessageTests {
    // MARK: - Decoders (what a receiving client does)

    /// Quoted-printable back to bytes: soft breaks joined, `=XX` decoded, hard breaks kept as CRLF.
    static func decodeQuotedPrintable(_ encoded: String) -> [UInt8] {
        var output: [UInt8] = []
        let lines = encoded.components(separatedBy: "\r\n")
        for (index, line) in lines.enumerated() {
            var bytes = Array(line.utf8)
            let soft = bytes.last == UInt8(ascii: "=")
            if soft { bytes.removeLast() }
            var position = 0
            while position < bytes.count {
                if bytes[position] == UInt8(ascii: "="), position + 2 < bytes.count,
                    let value = UInt8(String(decoding: bytes[(position + 1)..<(position + 3)], as: UTF8.self), radix: 16)
                {
                    output.append(value)
                    position += 3
                } else {
                    output.append(bytes[position])
                    position += 1
                }
            }
            if !soft && index < lines.count - 1 { output += [13, 10] }
        }
        return output
    }

    /// The bytes of each `=?UTF-8?B?…?=` word (nil if one is not such a word).
    static func encodedWordBytes(_ header: String) -> [[UInt8]]? {
        var words: [[UInt8]] = []
        for word in header.components(separatedBy: "\r\n ") {
            guard word.hasPrefix("=?UTF-8?B?"), word.hasSuffix("?="), let data = Data(base64Encoded: String(word.dropFirst(10).dropLast(2)))
            else { return nil }
            words.append(Array(data))
        }
        return words
    }

    static let pieces: [String] = ["a", "Z", " ", "\t", "=", "=3D", ".", "é", "ü", "€", "😀", "👩‍👩‍👧", "\n", "\r\n", "-", "_", "?", "<", "~"]

    // MARK: - Addresses

    @Test func addressesWithAndWithoutADisplayName() throws {
        let named = try #require(MailAddress("Registrar <no-reply@registrar.local>"))
        #expect(named.displayName == "Registrar")
        #expect(named.address == "no-reply@registrar.local")
        #expect(named.domain == "registrar.local")
        #expect(named.header == "\"Registrar\" <no-reply@registrar.local>")

        let quoted = try #require(MailAddress("  \"The Registrar Team\"   <team@example.com> "))
        #expect(quoted.displayName == "The Registrar Team")
        #expect(quoted.header == "\"The Registrar Team\" <team@example.com>")

        let bare = try #require(MailAddress(" no-reply@example.com\n"))
        #expect(bare.displayName == nil)
        #expect(bare.address == "no-reply@example.com")
        #expect(bare.header == "no-reply@example.com")

        let bracketed = try #require(MailAddress("<a@b.example>"))
        #expect(bracketed.displayName == nil)
        #expect(bracketed.address == "a@b.example")
    }

    @Test func aNonASCIIDisplayNameIsEncoded() throws {
        let address = try #require(MailAddress("Équipe Registrar <equipe@example.fr>"))
        #expect(address.displayName == "Équipe Registrar")
        let header = address.header
        #expect(header.hasSuffix(" <equipe@example.fr>"))
        #expect(header.utf8.allSatisfy { $0 < 128 })
        let words = try #require(Self.encodedWordBytes(String(header.dropLast(" <equipe@example.fr>".count))))
        #expect(String(decoding: words.joined(), as: UTF8.self) == "Équipe Registrar")
    }

    @Test(arguments: [
        "", "   ", "no-at-sign", "a@", "@b.example", "a@b@c.example", "a b@c.example", "Name <a b@c.example>", "Name <a@b.example",
        "Na\nme <a@b.example>", "Na\"me <a@b.example>", "é@b.example", "a@b.example\r\nBcc: x@y.example", "Name <>", "Name <a@b\u{7F}c>",
        "Name <a@b.example> trailing", "<<a@b.example>>",
    ])
    func invalidAddressesAreRefused(text: String) {
        #expect(MailAddress(text) == nil, "\(text.debugDescription)")
    }

    // MARK: - Quoted-printable

    @Test(arguments: [
        ("plain text", "plain text"),
        ("a=b", "a=3Db"),
        ("trailing space ", "trailing space=20"),
        ("trailing tab\t", "trailing tab=09"),
        ("in  between\tkept", "in  between\tkept"),
        ("é", "=C3=A9"),
        ("line1\nline2\r\nline3\rline4", "line1\r\nline2\r\nline3\r\nline4"),
        ("end of line \nnext", "end of line=20\r\nnext"),
        ("\u{7F}\u{01}", "=7F=01"),
        ("", ""),
        ("\n", "\r\n"),
    ])
    func quotedPrintableEncodesWhatIsNotPlainASCII(text: String, encoded: String) {
        #expect(MIME.quotedPrintable(text) == encoded)
    }

    @Test func quotedPrintableLinesAreAtMost76CharactersAndDecodeBack() {
        let long = String(repeating: "0123456789", count: 30)
        let encoded = MIME.quotedPrintable(long)
        let lines = encoded.components(separatedBy: "\r\n")
        #expect(lines.count > 3)
        #expect(lines.allSatisfy { $0.count <= 76 })
        #expect(lines.dropLast().allSatisfy { $0.hasSuffix("=") }, "soft breaks")
        #expect(Self.decodeQuotedPrintable(encoded) == Array(long.utf8))
    }

    @Test func quotedPrintableNeverSplitsAnEscape() {
        // Every length of prefix puts the escapes at every position relative to the 76 limit.
        for prefix in 0..<80 {
            let text = String(repeating: "x", count: prefix) + String(repeating: "é=", count: 40)
            let encoded = MIME.quotedPrintable(text)
            for line in encoded.components(separatedBy: "\r\n") {
                #expect(line.count <= 76)
                let body = line.hasSuffix("=") ? String(line.dropLast()) : line
                // `=` inside a line always starts a complete `=XX`.
                var rest = Substring(body)
                while let equals = rest.firstIndex(of: "=") {
                    let escape = rest[equals...].prefix(3)
                    #expect(escape.count == 3 && UInt8(escape.dropFirst(), radix: 16) != nil, "\(line)")
                    rest = rest[rest.index(after: equals)...]
                }
            }
            #expect(Self.decodeQuotedPrintable(encoded) == Array(text.utf8))
        }
    }

    @Test func quotedPrintableRoundTripsRandomText() {
        var generator = SplitMix64(state: 0x5EED_0001)
        for _ in 0..<500 {
            let count = Int.random(in: 0..<300, using: &generator)
            let text = (0..<count).map { _ in Self.pieces.randomElement(using: &generator)! }.joined()
            let encoded = MIME.quotedPrintable(text)
            #expect(encoded.utf8.allSatisfy { ($0 >= 32 && $0 < 127) || $0 == 9 || $0 == 13 || $0 == 10 }, "7-bit")
            let lines = encoded.components(separatedBy: "\r\n")
            for line in lines {
                #expect(line.utf8.count <= 76)
                #expect(!line.hasSuffix(" ") && !line.hasSuffix("\t"), "trailing white space is lost in transit")
                #expect(!line.contains("\r") && !line.contains("\n"), "no bare CR or LF")
            }
            let expected = text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
                .replacingOccurrences(of: "\n", with: "\r\n")
            #expect(Self.decodeQuotedPrintable(encoded) == Array(expected.utf8), "\(text.debugDescription)")
        }
    }

    // MARK: - Encoded words

    @Test func aShortHeaderIsOneEncodedWord() throws {
        let encoded = MIME.encodedWords("Votre code de vérification")
        #expect(encoded == "=?UTF-8?B?Vm90cmUgY29kZSBkZSB2w6lyaWZpY2F0aW9u?=")
    }

    @Test func encodedWordsAreShortNeverSplitACharacterAndDecodeBack() throws {
        var generator = SplitMix64(state: 0x5EED_0002)
        for round in 0..<300 {
            let count = Int.random(in: 1..<120, using: &generator)
            let text = (0..<count).map { _ in Self.pieces.randomElement(using: &generator)! }.joined()
            let encoded = MIME.encodedWords(text)
            #expect(encoded.utf8.allSatisfy { $0 < 128 })
            for word in encoded.components(separatedBy: "\r\n ") { #expect(word.count <= 75, "round \(round): \(word)") }
            let words = try #require(Self.encodedWordBytes(encoded), "round \(round): \(encoded)")
            for bytes in words {
                #expect(String(validating: bytes, as: UTF8.self) != nil, "each word is valid UTF-8 on its own")
            }
            #expect(String(decoding: words.joined(), as: UTF8.self) == MIME.headerValue(text))
        }
    }

    @Test func aLongSubjectIsFoldedIntoSeveralWords() throws {
        let subject = String(repeating: "Vérifiez votre adresse électronique — ", count: 4)
        let encoded = MIME.encodedWords(subject)
        let words = try #require(Self.encodedWordBytes(encoded))
        #expect(words.count > 2)
        #expect(String(decoding: words.joined(), as: UTF8.self) == subject)
    }

    @Test func lineBreaksInHeaderValuesBecomeSpaces() throws {
        #expect(MIME.headerValue("a\r\nBcc: x\ny\rz") == "a Bcc: x y z")
        let words = try #require(Self.encodedWordBytes(MIME.encodedWords("é\r\nBcc: evil@example.com")))
        #expect(String(decoding: words.joined(), as: UTF8.self) == "é Bcc: evil@example.com")
    }

    // MARK: - Date

    @Test(arguments: [
        (0.0, "Thu, 1 Jan 1970 00:00:00 +0000"),
        (1_795_796_450, "Fri, 27 Nov 2026 16:20:50 +0000"),
        (1_795_796_450.999, "Fri, 27 Nov 2026 16:20:50 +0000"),
        (951_782_400, "Tue, 29 Feb 2000 00:00:00 +0000"),
        (4_102_444_799, "Thu, 31 Dec 2099 23:59:59 +0000"),
    ])
    func datesAreRFC5322InUTC(seconds: Double, text: String) {
        #expect(MIME.rfc5322Date(Date(timeIntervalSince1970: seconds)) == text)
    }

    // MARK: - The whole message

    func message(subject: String = "Votre code de vérification", to: String = "anna@example.com") throws -> MIMEMessage {
        MIMEMessage(
            from: try #require(MailAddress("Registrar <no-reply@registrar.local>")),
            to: to,
            subject: subject,
            date: Date(timeIntervalSince1970: 1_795_796_450),
            messageID: "3f2a1b0c-9d8e-4f7a-8b6c-5d4e3f2a1b0c@registrar.local",
            language: "fr",
            text: "Votre code est 0427\n\n.\nSaisissez-le : il expire dans une minute. " + String(repeating: "long ", count: 30) + "\n",
            html: "<p>Votre code est <strong>0427</strong></p>\n<p style=\"x\">é</p>\n"
        )
    }

    /// Header lines (unfolded) and the body.
    func split(_ rendered: String) throws -> (headers: [String], body: String) {
        let separator = try #require(rendered.range(of: "\r\n\r\n"))
        let headers = rendered[..<separator.lowerBound].replacingOccurrences(of: "\r\n ", with: " ").components(separatedBy: "\r\n")
        return (headers, String(rendered[separator.upperBound...]))
    }

    @Test func theMessageIs7BitWithCRLFLinesAndTheExpectedHeaders() throws {
        let message = try self.message()
        let rendered = message.rendered
        let bytes = Array(rendered.utf8)
        #expect(bytes.allSatisfy { $0 < 128 }, "7-bit")
        for (index, byte) in bytes.enumerated() {
            if byte == 10 { #expect(index > 0 && bytes[index - 1] == 13, "no bare LF") }
            if byte == 13 { #expect(index + 1 < bytes.count && bytes[index + 1] == 10, "no bare CR") }
        }
        #expect(rendered.hasSuffix("--\(message.boundary)--\r\n"))
        for line in rendered.components(separatedBy: "\r\n") { #expect(line.utf8.count <= 998) }

        let (headers, _) = try self.split(rendered)
        #expect(headers.contains("From: \"Registrar\" <no-reply@registrar.local>"))
        #expect(headers.contains("To: anna@example.com"))
        #expect(headers.contains("Date: Fri, 27 Nov 2026 16:20:50 +0000"))
        #expect(headers.contains("Message-ID: <3f2a1b0c-9d8e-4f7a-8b6c-5d4e3f2a1b0c@registrar.local>"))
        #expect(headers.contains("Content-Language: fr"))
        #expect(headers.contains("MIME-Version: 1.0"))
        #expect(headers.contains("Content-Type: multipart/alternative; boundary=\"\(message.boundary)\""))
        let subject = try #require(headers.first { $0.hasPrefix("Subject: ") })
        let words = try #require(Self.encodedWordBytes(String(subject.dropFirst("Subject: ".count)).replacingOccurrences(of: " ", with: "\r\n ")))
        #expect(String(decoding: words.joined(), as: UTF8.self) == "Votre code de vérification")
    }

    @Test func thePartsAreTextThenHTMLInQuotedPrintableAndDecodeBack() throws {
        let message = try self.message()
        let (_, body) = try self.split(message.rendered)
        let delimiter = "\r\n--\(message.boundary)"
        // The boundary shows up only as the two delimiters and the closing one.
        let pieces = ("\r\n" + body).components(separatedBy: delimiter)
        #expect(pieces.count == 4)
        #expect(pieces[3] == "--\r\n")
        var decoded: [String] = []
        for (piece, type) in zip(pieces[1...2], ["text/plain", "text/html"]) {
            #expect(piece.hasPrefix("\r\n"))
            let (headers, content) = try self.split(String(decoding: Array(piece.utf8).dropFirst(2), as: UTF8.self))
            #expect(headers == ["Content-Type: \(type); charset=utf-8", "Content-Transfer-Encoding: quoted-printable"])
            #expect(content.components(separatedBy: "\r\n").allSatisfy { $0.count <= 76 })
            decoded.append(String(decoding: Self.decodeQuotedPrintable(content), as: UTF8.self))
        }
        #expect(decoded == [message.text, message.html].map { $0.replacingOccurrences(of: "\n", with: "\r\n") })
    }

    @Test func eachMessageHasItsOwnBoundaryThatNoQuotedPrintableTextContains() throws {
        let first = try self.message()
        var second = try self.message()
        second.messageID = "0b9c7a5e-1111-4222-8333-944455556666@registrar.local"
        #expect(first.boundary != second.boundary, "made from the Message-ID")
        #expect(try self.message().boundary == first.boundary, "the same message, the same boundary (every attempt)")
        #expect(first.boundary.hasPrefix("=_"), "`=_` is never produced by quoted-printable")
        let hostile = "=_registrar_ \(first.boundary) --\(first.boundary)--"
        #expect(!MIME.quotedPrintable(hostile).contains(first.boundary))
    }

    @Test func headerInjectionThroughRecipientOrSubjectIsImpossible() throws {
        for (subject, to) in [("Hello\r\nBcc: evil@example.com", "anna@example.com"), ("Hello", "anna@example.com\r\nBcc: evil@example.com")] {
            let rendered = try self.message(subject: subject, to: to).rendered
            let (headers, _) = try self.split(rendered)
            #expect(!headers.contains { $0.lowercased().hasPrefix("bcc:") }, "\(headers)")
            #expect(!rendered.contains("\r\nBcc:"))
        }
    }

    @Test func anASCIISubjectStaysReadable() throws {
        let (headers, _) = try self.split(try self.message(subject: "Your verification code").rendered)
        #expect(headers.contains("Subject: Your verification code"))
    }
}
