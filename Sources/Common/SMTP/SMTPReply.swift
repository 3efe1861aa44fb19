/// One SMTP reply (RFC 5321 §4.2): a three-digit code and one or more lines of text.
public struct SMTPReply: Sendable, Equatable, CustomStringConvertible {
    /// The reply code (`250`, `354`, `451`, `550` …).
    public var code: Int
    /// The text of each line, without the code and separator.
    public var lines: [String]

    /// Creates a reply.
    public init(_ code: Int, _ lines: String...) {
        self.code = code
        self.lines = lines.isEmpty ? [""] : lines
    }

    /// Creates a reply from its lines.
    public init(code: Int, lines: [String]) {
        self.code = code
        self.lines = lines.isEmpty ? [""] : lines
    }

    /// 2xx.
    public var isPositive: Bool { (200..<300).contains(self.code) }
    /// 3xx: more input is expected (`354`, `334`).
    public var isIntermediate: Bool { (300..<400).contains(self.code) }
    /// 4xx: a transient failure, worth retrying.
    public var isTransient: Bool { (400..<500).contains(self.code) }
    /// 5xx: a permanent failure.
    public var isPermanent: Bool { (500..<600).contains(self.code) }

    /// `250 text` (the lines joined with ` / `, control characters as spaces), for logs and `last_error`.
    public var description: String {
        "\(self.code) "
            + self.lines.map { String(String.UnicodeScalarView($0.unicodeScalars.map { $0.value < 32 || $0.value == 127 ? " " : $0 })) }
            .joined(separator: " / ")
    }

    /// The wire form: `250-first\r\n250 last\r\n`. Control characters in a line (text a
    /// client sent, echoed back) become spaces, so a reply can never break its own framing.
    public var wire: String {
        var text = ""
        for (index, line) in self.lines.enumerated() {
            let clean = String(String.UnicodeScalarView(line.unicodeScalars.map { $0.value < 32 || $0.value == 127 ? " " : $0 }))
            text += "\(self.code)\(index == self.lines.count - 1 ? " " : "-")\(clean)\r\n"
        }
        return text
    }
}

/// Assembles replies from lines as they arrive (a multi-line reply ends at `code SP`); pure, so
/// it is tested without sockets.
public struct SMTPReplyParser: Sendable {
    private var code: Int?
    private var lines: [String] = []

    /// The longest reply line accepted (RFC 5321 §4.5.3.1.5 says 512 octets; relays send more in EHLO).
    public static let maximumLineLength = 2048
    /// The most lines one reply may have.
    public static let maximumLines = 100

    /// A reply line that is not `ddd[ -]text`, or a reply that is too long.
    public struct Malformed: Error, CustomStringConvertible {
        /// What was wrong.
        public var description: String

        /// Creates the error.
        public init(description: String) { self.description = description }
    }

    /// Creates a parser.
    public init() {}

    /// Takes one line (without its CRLF); returns the reply once its last line arrived.
    public mutating func consume(line: Substring) throws -> SMTPReply? {
        let bytes = Array(line.utf8)
        guard bytes.count >= 3, bytes.count <= Self.maximumLineLength,
            bytes[0...2].allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
            let code = Int(String(decoding: bytes[0...2], as: UTF8.self)), (200...599).contains(code)
        else { throw Malformed(description: "not an SMTP reply line: \(line.prefix(80))") }
        let separator = bytes.count > 3 ? bytes[3] : UInt8(ascii: " ")
        guard separator == UInt8(ascii: " ") || separator == UInt8(ascii: "-") else {
            throw Malformed(description: "not an SMTP reply line: \(line.prefix(80))")
        }
        if let current = self.code, current != code { throw Malformed(description: "reply code changed inside a reply") }
        self.code = code
        self.lines.append(bytes.count > 4 ? String(decoding: bytes[4...], as: UTF8.self) : "")
        guard self.lines.count <= Self.maximumLines else { throw Malformed(description: "reply longer than \(Self.maximumLines) lines") }
        guard separator == UInt8(ascii: " ") else { return nil }
        let reply = SMTPReply(code: code, lines: self.lines)
        self.code = nil
        self.lines = []
        return reply
    }
}
