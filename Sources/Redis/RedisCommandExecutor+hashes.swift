import NIOCore

extension RedisCommandExecutor {
    /// `HGETALL key`: the field/value pairs in the server's order (empty when the key does not exist).
    public func hgetall(_ key: String) async throws -> [(field: String, value: ByteBuffer)] {
        let reply = try await self.send(RedisCommand("HGETALL", key))
        guard let flat = reply.array, flat.count % 2 == 0 else { throw RedisClientError.unexpectedReply("HGETALL → \(reply)") }
        return stride(from: 0, to: flat.count, by: 2).compactMap { index in
            guard let field = flat[index].string, let value = flat[index + 1].bytes else { return nil }
            return (field, value)
        }
    }

    /// `HMGET key field…`: each field's value, nil where absent (all nil when the key does not exist).
    public func hmget(_ key: String, fields: [String]) async throws -> [ByteBuffer?] {
        let reply = try await self.send(RedisCommand("HMGET", [key] + fields))
        guard let values = reply.array, values.count == fields.count else { throw RedisClientError.unexpectedReply("HMGET → \(reply)") }
        return values.map(\.bytes)
    }

    /// `DEL key…` for a list of keys: how many were removed.
    @discardableResult
    public func delete(keys: [String]) async throws -> Int {
        guard !keys.isEmpty else { return 0 }
        return try await self.send(RedisCommand("DEL", keys)).int ?? 0
    }
}

extension RedisCommandExecutor {
    /// `ZREM key member…`: how many were removed.
    @discardableResult
    public func zrem(_ key: String, members: [String]) async throws -> Int {
        guard !members.isEmpty else { return 0 }
        return try await self.send(RedisCommand("ZREM", [key] + members)).int ?? 0
    }

    /// `ZRANGEBYSCORE key min +inf`: the members scored at least `minimum`, lowest first.
    public func zrangeByScore(_ key: String, atLeast minimum: Int) async throws -> [String] {
        try Self.members(try await self.send(RedisCommand("ZRANGEBYSCORE", key, minimum, "+inf")), "ZRANGEBYSCORE")
    }

    /// `ZREVRANGE key 0 count-1`: the `count` highest-scored members, highest first.
    public func zrevrange(_ key: String, first count: Int) async throws -> [String] {
        guard count > 0 else { return [] }
        return try Self.members(try await self.send(RedisCommand("ZREVRANGE", key, 0, count - 1)), "ZREVRANGE")
    }

    private static func members(_ reply: RESPValue, _ command: String) throws -> [String] {
        guard let values = reply.array else { throw RedisClientError.unexpectedReply("\(command) → \(reply)") }
        return values.compactMap(\.string)
    }
}
