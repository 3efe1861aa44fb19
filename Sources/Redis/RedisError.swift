/// An error reply from the Redis server (`-WRONGTYPE …`, `-NOSCRIPT …`): the command was refused,
/// the connection is fine.
public struct RedisServerError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The full error message, e.g. `WRONGTYPE Operation against a key holding the wrong kind of value`.
    public let message: String

    /// Creates an error from the reply text.
    public init(message: String) {
        self.message = message
    }

    /// The error prefix (`ERR`, `WRONGTYPE`, `NOSCRIPT`, `BUSYGROUP`, `NOGROUP` …).
    public var code: String {
        String(self.message.prefix { $0 != " " })
    }

    public var description: String { "Redis error: \(self.message)" }
}

/// A failure of the client or the connection rather than of one command.
public struct RedisClientError: Error, Sendable, Equatable, CustomStringConvertible {
    enum Base: Equatable {
        case connectionClosed
        case unavailable(String)
        case timeout
        case protocolViolation(String)
        case unexpectedReply(String)
        case shutDown
    }

    let base: Base

    /// The connection closed before the reply arrived (the command may or may not have run).
    public static let connectionClosed = Self(base: .connectionClosed)
    /// No connection could be made; the client is backing off before the next attempt.
    public static func unavailable(_ reason: String) -> Self { Self(base: .unavailable(reason)) }
    /// No reply within the command timeout; the connection was closed.
    public static let timeout = Self(base: .timeout)
    /// The byte stream from the server was not valid RESP; the connection was closed.
    public static func protocolViolation(_ reason: String) -> Self { Self(base: .protocolViolation(reason)) }
    /// A reply of an unexpected shape for the typed command that was sent.
    public static func unexpectedReply(_ what: String) -> Self { Self(base: .unexpectedReply(what)) }
    /// The client has been shut down.
    public static let shutDown = Self(base: .shutDown)

    /// Whether retrying later may succeed (the server was unreachable or the connection dropped).
    public var isTransient: Bool {
        switch self.base {
        case .connectionClosed, .unavailable, .timeout: return true
        case .protocolViolation, .unexpectedReply, .shutDown: return false
        }
    }

    public var description: String {
        switch self.base {
        case .connectionClosed: return "Redis connection closed"
        case .unavailable(let reason): return "Redis unavailable: \(reason)"
        case .timeout: return "Redis command timed out"
        case .protocolViolation(let reason): return "Redis protocol violation: \(reason)"
        case .unexpectedReply(let what): return "unexpected Redis reply: \(what)"
        case .shutDown: return "Redis client shut down"
        }
    }
}
