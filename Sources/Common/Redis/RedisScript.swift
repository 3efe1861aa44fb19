import Crypto

/// A Lua script run with `EVALSHA`; when the server does not know it (`NOSCRIPT`: first use, or
/// after a restart or `SCRIPT FLUSH`) it is sent once with `EVAL`, which runs and caches it in one
/// step (no window for a flush between loading and running).
public struct RedisScript: Sendable, Equatable {
    /// The Lua source.
    public let source: String
    /// The SHA-1 of the source, hex, as Redis names it.
    public let sha1: String

    /// Creates a script from its source.
    public init(_ source: String) {
        self.source = source
        self.sha1 = Insecure.SHA1.hash(data: Array(source.utf8)).hexString
    }
}

extension RedisCommandExecutor {
    /// Runs `script` with `keys` and `arguments`, by hash, or in full if the server lacks it.
    public func evaluate(
        _ script: RedisScript,
        keys: [String] = [],
        arguments: [any RedisArgumentConvertible] = []
    ) async throws -> RESPValue {
        let parameters: [any RedisArgumentConvertible] = [keys.count] + keys + arguments
        do {
            return try await self.send(RedisCommand("EVALSHA", [script.sha1] + parameters))
        } catch let error as RedisServerError where error.code == "NOSCRIPT" {
            return try await self.send(RedisCommand("EVAL", [script.source] + parameters))
        }
    }
}
