import NIOCore

extension RedisCommandExecutor {
    /// `PING`; throws unless the server answers `PONG`.
    public func ping() async throws {
        let reply = try await self.send(RedisCommand("PING"))
        guard reply.string == "PONG" else { throw RedisClientError.unexpectedReply("PING → \(reply)") }
    }

    /// `GET key`: the bytes, or `nil` when the key does not exist.
    public func get(_ key: String) async throws -> ByteBuffer? {
        let reply = try await self.send(RedisCommand("GET", key))
        if reply.isNull { return nil }
        guard let bytes = reply.bytes else { throw RedisClientError.unexpectedReply("GET → \(reply)") }
        return bytes
    }

    /// `SET key value [PX ttl] [NX]`; returns whether the value was set (false when `NX` found the key).
    @discardableResult
    public func set(
        _ key: String,
        to value: some RedisArgumentConvertible,
        expiresIn ttl: Duration? = nil,
        onlyIfAbsent: Bool = false
    ) async throws
        -> Bool
    {
        var arguments: [any RedisArgumentConvertible] = [key, value]
        if let ttl { arguments += ["PX", max(1, ttl.wholeMilliseconds)] }
        if onlyIfAbsent { arguments.append("NX") }
        return try await !self.send(RedisCommand("SET", arguments)).isNull
    }

    /// `DEL key…`: how many keys were removed.
    @discardableResult
    public func delete(_ keys: String...) async throws -> Int {
        try await self.send(RedisCommand("DEL", keys)).int ?? 0
    }

    /// `PTTL key` in milliseconds, or `nil` when the key has no expiry or does not exist.
    public func ttl(_ key: String) async throws -> Duration? {
        guard let milliseconds = try await self.send(RedisCommand("PTTL", key)).int, milliseconds >= 0 else { return nil }
        return .milliseconds(milliseconds)
    }
}
