import NIOCore

/// A value that can be sent as one binary-safe Redis command argument.
public protocol RedisArgumentConvertible: Sendable {
    /// The argument's bytes.
    var redisArgument: [UInt8] { get }
}

extension String: RedisArgumentConvertible {
    public var redisArgument: [UInt8] { Array(self.utf8) }
}

extension Substring: RedisArgumentConvertible {
    public var redisArgument: [UInt8] { Array(self.utf8) }
}

extension Int: RedisArgumentConvertible {
    public var redisArgument: [UInt8] { Array(String(self).utf8) }
}

extension Array: RedisArgumentConvertible where Element == UInt8 {
    public var redisArgument: [UInt8] { self }
}

extension ByteBuffer: RedisArgumentConvertible {
    public var redisArgument: [UInt8] { Array(self.readableBytesView) }
}

/// One Redis command: a name and binary-safe arguments.
public struct RedisCommand: Sendable, CustomStringConvertible {
    /// The command and its arguments, in order, as bytes.
    public var parts: [[UInt8]]
    /// Whether the command may block on the server (`BLOCK`); its timeout is extended by ``blockTimeout``.
    public var blockTimeout: Duration?

    /// Creates `name arg1 arg2 …`.
    public init(_ name: String, _ arguments: [any RedisArgumentConvertible], blockTimeout: Duration? = nil) {
        self.parts = [Array(name.utf8)] + arguments.map(\.redisArgument)
        self.blockTimeout = blockTimeout
    }

    /// Creates `name arg1 arg2 …`.
    public init(_ name: String, _ arguments: any RedisArgumentConvertible...) {
        self.init(name, arguments)
    }

    /// The command name only: arguments may be secrets and never appear in logs.
    public var description: String { String(decoding: self.parts.first ?? [], as: UTF8.self) }
}
