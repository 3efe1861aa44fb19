extension JSONBody {
    /// Whether a `Content-Type` value is `application/json`, compared case-insensitively, with no
    /// parameter but `charset=utf-8` (any case, quoted or not; empty parameters are allowed, as
    /// RFC 9110's grammar allows them). Everything else is refused: other types and `+json`
    /// suffixes (`application/merge-patch+json`), other charsets, unknown parameters, an empty
    /// type (`;;;`), several values.
    static func isJSONMediaType(_ value: String) -> Bool {
        let parts = Array(value.utf8).split(separator: UInt8(ascii: ";"), omittingEmptySubsequences: false)
        guard let type = parts.first, Self.lowercased(Self.trimmed(type)) == Array("application/json".utf8) else { return false }
        for part in parts.dropFirst() {
            let parameter = Self.trimmed(part)
            if parameter.isEmpty { continue }
            guard let equals = parameter.firstIndex(of: UInt8(ascii: "=")) else { return false }
            var parameterValue = parameter[parameter.index(after: equals)...]
            if parameterValue.count >= 2, parameterValue.first == UInt8(ascii: "\""), parameterValue.last == UInt8(ascii: "\"") {
                parameterValue = parameterValue.dropFirst().dropLast()
            }
            guard Self.lowercased(parameter[..<equals]) == Array("charset".utf8), Self.lowercased(parameterValue) == Array("utf-8".utf8)
            else { return false }
        }
        return true
    }

    /// Without leading and trailing optional white space (RFC 9110 OWS: spaces and tabs).
    private static func trimmed(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        let isSpace = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        guard let first = bytes.firstIndex(where: { !isSpace($0) }), let last = bytes.lastIndex(where: { !isSpace($0) }) else {
            return []
        }
        return bytes[first...last]
    }

    /// ASCII letters lower-cased; other bytes unchanged.
    private static func lowercased(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
        bytes.map { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) ? $0 + 32 : $0 }
    }
}
