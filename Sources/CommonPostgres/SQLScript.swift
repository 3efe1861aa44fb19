import Common

/// Splits a SQL file into statements at top-level semicolons.
///
/// postgres-nio speaks the extended protocol, which takes one statement at a time, so migration
/// files are split here. Semicolons inside quotes (`'…'`, `"…"`), dollar quotes (`$$…$$`,
/// `$tag$…$tag$`), line comments (`--`) and block comments (`/* … */`, nested) do not split.
public enum SQLScript {
    /// The statements of `sql`, trimmed, without empty ones and without the final semicolons.
    public static func statements(_ sql: String) -> [String] {
        let characters = Array(sql.unicodeScalars)
        var statements: [String] = []
        var current = String.UnicodeScalarView()
        var index = 0
        var hasContent = false

        func flush() {
            let text = String(String(current).trimmingWhitespace())
            if hasContent, !text.isEmpty { statements.append(text) }
            current = String.UnicodeScalarView()
            hasContent = false
        }

        func copy(until end: Int) {
            while index < min(end, characters.count) {
                current.append(characters[index])
                index += 1
            }
        }

        func find(_ needle: [Unicode.Scalar], from start: Int) -> Int? {
            guard !needle.isEmpty, start <= characters.count - needle.count else { return nil }
            for position in start...(characters.count - needle.count) where Array(characters[position..<position + needle.count]) == needle {
                return position
            }
            return nil
        }

        while index < characters.count {
            let scalar = characters[index]
            let next = index + 1 < characters.count ? characters[index + 1] : nil
            switch scalar {
            case ";":
                index += 1
                flush()
            case "-" where next == "-":
                let end = characters[index...].firstIndex(of: "\n") ?? characters.count
                copy(until: end)
            case "/" where next == "*":
                var depth = 0
                while index < characters.count {
                    if characters[index] == "/", index + 1 < characters.count, characters[index + 1] == "*" {
                        depth += 1
                        copy(until: index + 2)
                    } else if characters[index] == "*", index + 1 < characters.count, characters[index + 1] == "/" {
                        depth -= 1
                        copy(until: index + 2)
                        if depth == 0 { break }
                    } else {
                        copy(until: index + 1)
                    }
                }
            case "'", "\"":
                hasContent = true
                var position = index + 1
                while position < characters.count {
                    if characters[position] == scalar {
                        if position + 1 < characters.count, characters[position + 1] == scalar {
                            position += 2
                            continue
                        }
                        break
                    }
                    position += 1
                }
                copy(until: position + 1)
            case "$":
                hasContent = true
                var position = index + 1
                while position < characters.count,
                    characters[position] == "_" || characters[position].properties.isAlphabetic
                        || (position > index + 1 && ("0"..."9").contains(characters[position]))
                {
                    position += 1
                }
                if position < characters.count, characters[position] == "$" {
                    let tag = Array(characters[index...position])
                    let close = find(tag, from: position + 1).map { $0 + tag.count } ?? characters.count
                    copy(until: close)
                } else {
                    copy(until: index + 1)
                }
            default:
                if !scalar.properties.isWhitespace { hasContent = true }
                copy(until: index + 1)
            }
        }
        flush()
        return statements
    }
}
