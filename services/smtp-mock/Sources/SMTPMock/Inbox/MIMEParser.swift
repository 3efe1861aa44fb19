import Common

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What the inbox keeps of a received message: its headers (unfolded, encoded words decoded)
/// and the first text and HTML parts (transfer encoding and charset decoded).
struct ParsedMessage: Sendable, Equatable {
    var headers: [[String]] = []
    var text: String?
    var html: String?

    /// The first header called `name` (case-insensitive).
    func header(_ name: String) -> String? {
        self.headers.first { $0[0].lowercased() == name.lowercased() }?[1]
    }

    /// The Message-ID without its angle brackets, if the message has one.
    var messageID: String? {
        guard let value = self.header("Message-ID")?.trimmingWhitespace(), !value.isEmpty else { return nil }
        let inner = value.hasPrefix("<") && value.hasSuffix(">") ? value.dropFirst().dropLast() : value
        return inner.isEmpty || inner.utf8.count > 250 ? nil : String(inner)
    }
}

/// A lenient reader of RFC 5322 / MIME messages (RFC 2045–2047): never fails, whatever the input;
/// what it cannot read is left out.
enum MIMEParser {
    /// Nesting of multiparts followed at most.
    static let maximumDepth = 5

    static func parse(_ raw: [UInt8]) -> ParsedMessage {
        var message = ParsedMessage()
        let (headers, body) = self.split(raw[...])
        message.headers = headers.map { [$0.0, $0.1] }
        self.collect(headers: headers, body: body, into: &message, depth: 0)
        return message
    }

    /// Headers (unfolded, decoded) and the body after the first empty line.
    static func split(_ bytes: ArraySlice<UInt8>) -> ([(String, String)], ArraySlice<UInt8>) {
        var headers: [(String, String)] = []
        var index = bytes.startIndex
        var bodyStart = bytes.endIndex
        while index < bytes.endIndex {
            let end = bytes[index...].firstIndex(of: 10) ?? bytes.endIndex
            var line = bytes[index..<end]
            if line.last == 13 { line = line.dropLast() }
            let next = end < bytes.endIndex ? end + 1 : end
            if line.isEmpty {
                bodyStart = next
                break
            }
            // Byte-level: this runs for every header of every message the inbox receives.
            if let first = line.first, first == 32 || first == 9, !headers.isEmpty {
                headers[headers.count - 1].1 += " " + String(decoding: Self.trimmed(line), as: UTF8.self)
            } else if let colon = line.firstIndex(of: UInt8(ascii: ":")) {
                headers.append(
                    (
                        String(decoding: Self.trimmed(line[..<colon]), as: UTF8.self),
                        String(decoding: Self.trimmed(line[(colon + 1)...]), as: UTF8.self)
                    )
                )
            }
            index = next
        }
        return (headers.map { ($0.0, self.decodeEncodedWords($0.1)) }, bytes[min(bodyStart, bytes.endIndex)...])
    }

    private static func collect(headers: [(String, String)], body: ArraySlice<UInt8>, into message: inout ParsedMessage, depth: Int) {
        let contentType = headers.first { $0.0.lowercased() == "content-type" }?.1 ?? "text/plain"
        let (type, parameters) = self.contentType(contentType)
        let encoding = headers.first { $0.0.lowercased() == "content-transfer-encoding" }?.1.lowercased() ?? "7bit"
        if type.hasPrefix("multipart/") {
            guard depth < self.maximumDepth, let boundary = parameters["boundary"], !boundary.isEmpty else { return }
            for part in self.parts(of: body, boundary: boundary) {
                let (partHeaders, partBody) = self.split(part)
                self.collect(headers: partHeaders, body: partBody, into: &message, depth: depth + 1)
            }
            return
        }
        guard type == "text/plain" || type == "text/html" else { return }
        let decoded = self.decodeTransfer(body, encoding: encoding)
        let text = self.decodeCharset(decoded, charset: parameters["charset"] ?? "us-ascii")
        if type == "text/plain", message.text == nil { message.text = text }
        if type == "text/html", message.html == nil { message.html = text }
    }

    /// `type/subtype; name=value; name="value"` → the lower-cased type and the parameters.
    static func contentType(_ value: String) -> (String, [String: String]) {
        let pieces = value.split(separator: ";")
        let type = pieces.first.map { $0.trimmingWhitespace().lowercased() } ?? "text/plain"
        var parameters: [String: String] = [:]
        for piece in pieces.dropFirst() {
            guard let equals = piece.firstIndex(of: "=") else { continue }
            let name = piece[..<equals].trimmingWhitespace().lowercased()
            var value = piece[piece.index(after: equals)...].trimmingWhitespace()
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = value.dropFirst().dropLast() }
            parameters[name] = String(value)
        }
        return (type, parameters)
    }

    /// The parts between `--boundary` lines, up to `--boundary--`.
    static func parts(of body: ArraySlice<UInt8>, boundary: String) -> [ArraySlice<UInt8>] {
        let delimiter = Array("--\(boundary)".utf8)
        var parts: [ArraySlice<UInt8>] = []
        var partStart: Int?
        var index = body.startIndex
        while index < body.endIndex {
            let end = body[index...].firstIndex(of: 10) ?? body.endIndex
            var line = body[index..<end]
            if line.last == 13 { line = line.dropLast() }
            let next = end < body.endIndex ? end + 1 : end
            let after = line.dropFirst(delimiter.count)
            // `--b1` is not a delimiter of `--b10`'s parts: only `--`, or white space, may follow.
            if line.starts(with: delimiter), after.isEmpty || after.starts(with: Array("--".utf8)) || after.allSatisfy({ $0 == 32 || $0 == 9 }) {
                if let start = partStart {
                    // The line break before the delimiter belongs to the delimiter.
                    var stop = index
                    if stop > start, body[stop - 1] == 10 { stop -= 1 }
                    if stop > start, body[stop - 1] == 13 { stop -= 1 }
                    parts.append(body[start..<stop])
                }
                if after.starts(with: Array("--".utf8)) { return parts }
                partStart = next
            }
            index = next
        }
        return parts
    }

    static func decodeTransfer(_ body: ArraySlice<UInt8>, encoding: String) -> [UInt8] {
        switch encoding {
        case "quoted-printable": return self.decodeQuotedPrintable(body)
        case "base64":
            let text = String(decoding: body.filter { $0 > 32 }, as: UTF8.self)
            return Data(base64Encoded: text).map { Array($0) } ?? Array(body)
        default: return Array(body)
        }
    }

    static func decodeQuotedPrintable(_ body: ArraySlice<UInt8>, underscoreIsSpace: Bool = false) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(body.count)
        var index = body.startIndex
        while index < body.endIndex {
            let byte = body[index]
            if byte == UInt8(ascii: "=") {
                let rest = body[(index + 1)...]
                if rest.first == 13 || rest.first == 10 {  // a soft line break
                    index += rest.first == 13 && rest.dropFirst().first == 10 ? 3 : 2
                    continue
                }
                if rest.count >= 2, let value = UInt8(String(decoding: rest.prefix(2), as: UTF8.self), radix: 16) {
                    output.append(value)
                    index += 3
                    continue
                }
            }
            output.append(underscoreIsSpace && byte == UInt8(ascii: "_") ? 32 : byte)
            index += 1
        }
        return output
    }

    static func decodeCharset(_ bytes: [UInt8], charset: String) -> String {
        switch charset.lowercased() {
        case "iso-8859-1", "latin1", "iso_8859-1", "windows-1252":
            return String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
        default:
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    /// `bytes` without leading and trailing spaces and tabs.
    static func trimmed(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var slice = bytes
        while let first = slice.first, first == 32 || first == 9 { slice = slice.dropFirst() }
        while let last = slice.last, last == 32 || last == 9 { slice = slice.dropLast() }
        return slice
    }

    /// RFC 2047: `=?charset?B?…?=` and `=?charset?Q?…?=` decoded; white space between two
    /// encoded words dropped.
    static func decodeEncodedWords(_ value: String) -> String {
        var previous: UInt8 = 0
        var marked = false
        for byte in value.utf8 {
            if previous == UInt8(ascii: "=") && byte == UInt8(ascii: "?") {
                marked = true
                break
            }
            previous = byte
        }
        guard marked else { return value }
        var output = ""
        var rest = value[...]
        var previousWasWord = false
        while let start = rest.firstRange(of: "=?") {
            let before = rest[..<start.lowerBound]
            let after = rest[start.upperBound...]
            let fields = after.split(separator: "?", maxSplits: 3, omittingEmptySubsequences: false)
            guard fields.count == 4, fields[3].hasPrefix("="), let word = self.decodeWord(charset: fields[0], encoding: fields[1], text: fields[2])
            else {
                output += rest[..<start.upperBound]
                rest = after
                previousWasWord = false
                continue
            }
            if !(previousWasWord && before.allSatisfy { $0.isWhitespace }) { output += before }
            output += word
            rest = fields[3].dropFirst()
            previousWasWord = true
        }
        return output + rest
    }

    private static func decodeWord(charset: Substring, encoding: Substring, text: Substring) -> String? {
        let bytes: [UInt8]
        switch encoding.uppercased() {
        case "B":
            guard let data = Data(base64Encoded: String(text)) else { return nil }
            bytes = Array(data)
        case "Q":
            bytes = self.decodeQuotedPrintable(Array(text.utf8)[...], underscoreIsSpace: true)
        default:
            return nil
        }
        return self.decodeCharset(bytes, charset: String(charset))
    }
}
