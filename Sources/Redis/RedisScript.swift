import Crypto

/// A Lua script and the type of its reply, run with `EVALSHA`; when the server does not know it
/// (`NOSCRIPT`: first use, or after a restart or `SCRIPT FLUSH`) it is sent once with `EVAL`,
/// which runs and caches it in one step (no window for a flush between loading and running).
///
/// The script declares how its reply decodes (`reply:`), so callers get a typed value and a reply
/// of another shape fails as ``RedisClientError/unexpectedReply(_:)`` in one place.
public struct RedisScript<Reply: Sendable>: Sendable {
    /// The Lua source.
    public let source: String
    /// The SHA-1 of the source, hex, as Redis names it.
    public let sha1: String
    /// Decodes the script's reply.
    let decode: @Sendable (RESPValue) throws -> Reply

    /// Creates a script from its source and the decoding of its reply.
    public init(_ source: String, reply decode: @escaping @Sendable (RESPValue) throws -> Reply) {
        self.source = source
        let digits = Array("0123456789abcdef".utf8)
        self.sha1 = String(
            decoding: Insecure.SHA1.hash(data: Array(source.utf8)).flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0x0F)]] },
            as: UTF8.self
        )
        self.decode = decode
    }
}

extension RedisScript where Reply == Void {
    /// A script whose reply is not used.
    public init(_ source: String) {
        self.init(source) { _ in }
    }
}

extension RedisScript where Reply == Int {
    /// A script that returns an integer (`name` says which in errors).
    public init(integer source: String, name: String) {
        self.init(source) { reply in
            guard let value = reply.int else { throw RedisClientError.unexpectedReply("\(name) → \(reply)") }
            return value
        }
    }
}

extension RedisCommandExecutor {
    /// Runs `script` with `keys` and `arguments`, by hash, or in full if the server lacks it;
    /// its reply, decoded as the script declares.
    @discardableResult
    public func evaluate<Reply>(
        _ script: RedisScript<Reply>,
        keys: [String] = [],
        arguments: [any RedisArgumentConvertible] = []
    ) async throws -> Reply {
        let parameters: [any RedisArgumentConvertible] = [keys.count] + keys + arguments
        let reply: RESPValue
        do {
            reply = try await self.send(RedisCommand("EVALSHA", [script.sha1] + parameters))
        } catch let error as RedisServerError where error.code == "NOSCRIPT" {
            reply = try await self.send(RedisCommand("EVAL", [script.source] + parameters))
        }
        return try script.decode(reply)
    }
}
