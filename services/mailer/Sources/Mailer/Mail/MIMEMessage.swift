import Common
import Foundation

/// A mailbox: `Display Name <local@domain>` or a bare address (`MAIL_FROM`).
struct MailAddress: Sendable, Equatable {
    var displayName: String?
    var address: String

    /// The domain part (for Message-IDs).
    var domain: String { String(self.address.split(separator: "@").last ?? "localhost") }

    /// Parses `Name <a@b>` or `a@b`; nil unless the address is one printable-ASCII `local@domain`.
    init?(_ text: String) {
        let trimmed = text.trimmingWhitespace()
        if let open = trimmed.lastIndex(of: "<"), trimmed.hasSuffix(">") {
            let name = trimmed[..<open].trimmingWhitespace().trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            self.displayName = name.isEmpty ? nil : name
            self.address = String(trimmed[trimmed.index(after: open)..<trimmed.index(before: trimmed.endIndex)])
        } else {
            self.displayName = nil
            self.address = String(trimmed)
        }
        let parts = self.address.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty,
            self.address.utf8.allSatisfy({ $0 > 32 && $0 < 127 && $0 != UInt8(ascii: "<") && $0 != UInt8(ascii: ">") }),
            (self.displayName ?? "").unicodeScalars.allSatisfy({ $0 != "\r" && $0 != "\n" && $0 != "\"" })
        else { return nil }
    }

    /// The header form: the display name quoted (or encoded, when not ASCII), then `<address>`.
    var header: String {
        guard let name = self.displayName else { return self.address }
        let encoded = MIME.isPlainASCII(name) ? "\"\(name)\"" : MIME.encodedWords(name)
        return "\(encoded) <\(self.address)>"
    }
}

/// An RFC 5322 message with a `multipart/alternative` body (text, then HTML), 7-bit clean:
/// quoted-printable parts, RFC 2047 encoded words for non-ASCII headers, CRLF line ends.
struct MIMEMessage: Sendable {
    var from: MailAddress
    var to: String
    var subject: String
    var date: Date
    /// Without angle brackets.
    var messageID: String
    var language: String
    var text: String
    var html: String
    /// The multipart boundary; it never occurs in quoted-printable text (`=_` is not an escape).
    /// Made from the Message-ID (unique per message, no random bytes to draw per message).
    var boundary: String {
        let alphanumeric = self.messageID.utf8.lazy.filter { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
        }
        return "=_registrar_" + String(decoding: Array(alphanumeric.prefix(40)), as: UTF8.self)
    }

    /// The whole message.
    var rendered: String {
        let boundary = self.boundary
        var lines = [
            "From: \(self.from.header)",
            "To: \(MIME.headerValue(self.to))",
            "Subject: \(MIME.isPlainASCII(self.subject) ? MIME.headerValue(self.subject) : MIME.encodedWords(self.subject))",
            "Date: \(MIME.rfc5322Date(self.date))",
            "Message-ID: <\(self.messageID)>",
            "Content-Language: \(self.language)",
            "MIME-Version: 1.0",
            "Content-Type: multipart/alternative; boundary=\"\(boundary)\"",
            "",
            "This is a multi-part message in MIME format.",
        ]
        for (type, content) in [("text/plain", self.text), ("text/html", self.html)] {
            lines += [
                "--\(boundary)",
                "Content-Type: \(type); charset=utf-8",
                "Content-Transfer-Encoding: quoted-printable",
                "",
                MIME.quotedPrintable(content),
            ]
        }
        lines.append("--\(boundary)--")
        return lines.joined(separator: "\r\n") + "\r\n"
    }
}

/// The encodings a 7-bit message needs.
enum MIME {
    /// Printable ASCII and spaces only (no control characters).
    static func isPlainASCII(_ text: String) -> Bool {
        text.utf8.allSatisfy { $0 >= 32 && $0 < 127 }
    }

    /// A header value with line breaks removed (no header injection).
    static func headerValue(_ text: String) -> String {
        String(text.map { $0 == "\r" || $0 == "\n" || $0 == "\r\n" ? " " : $0 })
    }

    /// RFC 2047 `=?UTF-8?B?…?=` words of at most 64 characters (a header line with one stays under
    /// 76), never splitting a character,
    /// folded onto continuation lines.
    static func encodedWords(_ text: String) -> String {
        var words: [[UInt8]] = []
        var chunk: [UInt8] = []
        for character in self.headerValue(text) {
            let bytes = Array(String(character).utf8)
            if chunk.count + bytes.count > 39 {  // 39 bytes → 52 base64 characters + 12 of framing: "Subject: " + a word ≤ 76
                words.append(chunk)
                chunk = []
            }
            chunk += bytes
        }
        if !chunk.isEmpty { words.append(chunk) }
        return words.map { "=?UTF-8?B?\(Data($0).base64EncodedString())?=" }.joined(separator: "\r\n ")
    }

    /// Quoted-printable (RFC 2045 §6.7): lines of at most 76 characters, CRLF line ends.
    static func quotedPrintable(_ text: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var output: [UInt8] = []
        output.reserveCapacity(text.utf8.count * 11 / 10 + 16)
        var line: [UInt8] = []  // the current input line, without its line end
        func flush() {
            var length = 0
            for (index, byte) in line.enumerated() {
                let last = index == line.count - 1
                let literal = (byte >= 33 && byte <= 126 && byte != UInt8(ascii: "=")) || ((byte == 32 || byte == 9) && !last)
                let width = literal ? 1 : 3
                if length + width > 75 {
                    output += [UInt8(ascii: "="), 13, 10]  // a soft line break
                    length = 0
                }
                if literal {
                    output.append(byte)
                } else {
                    output += [UInt8(ascii: "="), hex[Int(byte >> 4)], hex[Int(byte & 15)]]
                }
                length += width
            }
            line.removeAll(keepingCapacity: true)
        }
        var previous: UInt8 = 0
        for byte in text.utf8 {
            if byte == 10 || byte == 13 {
                if !(byte == 10 && previous == 13) {  // CRLF, LF and CR each end one line
                    flush()
                    output += [13, 10]
                }
            } else {
                line.append(byte)
            }
            previous = byte
        }
        flush()
        return String(decoding: output, as: UTF8.self)
    }

    /// `Fri, 27 Nov 2026 16:20:50 +0000`.
    static func rfc5322Date(_ date: Date) -> String {
        var time = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&time, &parts)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ value: Int32) -> String { String(value).leftPadded(to: 2) }
        return "\(days[Int(parts.tm_wday)]), \(parts.tm_mday) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) +0000"
    }
}

extension String {
    /// The string with leading zeros up to `width` characters.
    fileprivate func leftPadded(to width: Int) -> String {
        self.count >= width ? self : String(repeating: "0", count: width - self.count) + self
    }
}
