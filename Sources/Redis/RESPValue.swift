import NIOCore

/// A decoded Redis (RESP2) reply.
public enum RESPValue: Sendable, Hashable {
    /// `+OK`
    case simpleString(String)
    /// `$n` — binary-safe.
    case bulkString(ByteBuffer)
    /// `:n`
    case integer(Int64)
    /// `*n` — may contain nested errors (inside `EXEC` or script results).
    case array([RESPValue])
    /// `$-1` or `*-1`
    case null
    /// `-ERR …` nested inside an array (top-level errors are thrown as ``RedisServerError``).
    case error(RedisServerError)

    /// The value as text, for simple and bulk strings (UTF-8), and integers.
    public var string: String? {
        switch self {
        case .simpleString(let string): return string
        case .bulkString(let buffer): return String(buffer: buffer)
        case .integer(let value): return String(value)
        default: return nil
        }
    }

    /// The value as an integer, for integer replies and numeric strings.
    public var int: Int? {
        switch self {
        case .integer(let value): return Int(value)
        case .bulkString, .simpleString: return self.string.flatMap { Int($0) }
        default: return nil
        }
    }

    /// The raw bytes of a bulk string.
    public var bytes: ByteBuffer? {
        if case .bulkString(let buffer) = self { return buffer }
        return nil
    }

    /// The elements of an array.
    public var array: [RESPValue]? {
        if case .array(let values) = self { return values }
        return nil
    }

    /// Whether this is a null reply.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }
}
