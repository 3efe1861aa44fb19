/// Writing JSON text by hand where an encoder would need full Foundation (`JSONSerialization`):
/// log lines with arbitrary metadata.
enum JSONText {
    /// `string` as a JSON string literal (RFC 8259: quotes, backslashes and control characters
    /// escaped; `/` and non-ASCII left as they are).
    static func quoted(_ string: String) -> String {
        var out = "\""
        out.reserveCapacity(string.utf8.count + 2)
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case let control where control.value < 0x20 || control.value == 0x7F:
                let hex = String(control.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
        return out
    }
}
