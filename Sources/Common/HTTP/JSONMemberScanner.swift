/// Finds a member name repeated within one JSON object, at any depth.
///
/// `JSONDecoder` keeps one of two members with the same name and says nothing, while other
/// parsers keep the other one: a proxy and the service could read different requests from the
/// same bytes. Names are compared as Swift strings (escapes decoded, canonical equivalence), the
/// way the decoded dictionary compares them, so every pair the decoder would merge is found.
/// Meant for input `JSONDecoder` accepted; anything it cannot follow is `.invalid`.
enum JSONMemberScanner {
    enum Result: Equatable {
        case unique
        case duplicate(String)
        case invalid
    }

    /// One open object or array.
    private struct Frame {
        var isObject: Bool
        var names: Set<String> = []
        /// The next string in this object is a member name (after `{` or `,`).
        var expectingName: Bool
    }

    static func scan(_ bytes: [UInt8]) -> Result {
        var frames: [Frame] = []
        var index = 0
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "{"):
                frames.append(Frame(isObject: true, expectingName: true))
                index += 1
            case UInt8(ascii: "["):
                frames.append(Frame(isObject: false, expectingName: false))
                index += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                guard frames.popLast() != nil else { return .invalid }
                index += 1
            case UInt8(ascii: ","):
                if let last = frames.indices.last, frames[last].isObject { frames[last].expectingName = true }
                index += 1
            case UInt8(ascii: "\""):
                let isName = frames.last.map { $0.isObject && $0.expectingName } ?? false
                guard let (name, end) = Self.string(in: bytes, at: index, decoding: isName) else { return .invalid }
                if isName, let name {
                    let last = frames.count - 1
                    frames[last].expectingName = false
                    if !frames[last].names.insert(name).inserted { return .duplicate(name) }
                }
                index = end
            default:
                index += 1
            }
        }
        return frames.isEmpty ? .unique : .invalid
    }

    /// The string starting at the quote at `start` (decoded when `decoding`) and the index after
    /// its closing quote; nil when it is unterminated, or when a name holds a bad escape or a lone
    /// surrogate (values are skipped, not checked: JSONDecoder already read them).
    private static func string(in bytes: [UInt8], at start: Int, decoding: Bool) -> (String?, Int)? {
        var utf8: [UInt8] = []
        var index = start + 1
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                return (decoding ? String(decoding: utf8, as: UTF8.self) : nil, index + 1)
            }
            guard byte == UInt8(ascii: "\\") else {
                if decoding { utf8.append(byte) }
                index += 1
                continue
            }
            guard index + 1 < bytes.count else { return nil }
            guard decoding else {
                index += 2  // a value: only its end matters (`\uXXXX` holds no quote)
                continue
            }
            let escaped = bytes[index + 1]
            index += 2
            switch escaped {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(escaped)
            case UInt8(ascii: "b"): utf8.append(0x08)
            case UInt8(ascii: "f"): utf8.append(0x0C)
            case UInt8(ascii: "n"): utf8.append(0x0A)
            case UInt8(ascii: "r"): utf8.append(0x0D)
            case UInt8(ascii: "t"): utf8.append(0x09)
            case UInt8(ascii: "u"):
                guard let unit = Self.hex4(bytes, at: index) else { return nil }
                index += 4
                var scalarValue = UInt32(unit)
                if (0xD800...0xDBFF).contains(unit) {
                    // A high surrogate must be followed by an escaped low one.
                    guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u"),
                        let low = Self.hex4(bytes, at: index + 2), (0xDC00...0xDFFF).contains(low)
                    else { return nil }
                    index += 6
                    scalarValue = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
                }
                guard let scalar = Unicode.Scalar(scalarValue) else { return nil }
                utf8.append(contentsOf: String(Character(scalar)).utf8)
            default:
                return nil
            }
        }
        return nil
    }

    /// Four hexadecimal digits at `index`.
    private static func hex4(_ bytes: [UInt8], at index: Int) -> UInt16? {
        guard index + 4 <= bytes.count else { return nil }
        var value: UInt16 = 0
        for byte in bytes[index..<index + 4] {
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: return nil
            }
            value = value << 4 | UInt16(digit)
        }
        return value
    }
}
