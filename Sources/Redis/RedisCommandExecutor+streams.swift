import NIOCore

/// One entry of a Redis stream.
public struct RedisStreamEntry: Sendable, Equatable {
    /// The entry id (`1700000000000-0`).
    public var id: String
    /// The field/value pairs, in order; empty for an entry deleted while pending.
    public var fields: [(String, ByteBuffer)]

    /// Creates an entry.
    public init(id: String, fields: [(String, ByteBuffer)]) {
        self.id = id
        self.fields = fields
    }

    /// The value of `field`, if present.
    public subscript(field: String) -> ByteBuffer? {
        self.fields.first { $0.0 == field }?.1
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.id == rhs.id && lhs.fields.map(\.0) == rhs.fields.map(\.0) && lhs.fields.map(\.1) == rhs.fields.map(\.1)
    }

    /// Decodes one entry of an `XRANGE`/`XREADGROUP` reply: `[id, [field, value, …]]`.
    public init(_ value: RESPValue) throws {
        guard let parts = value.array, parts.count == 2, let id = parts[0].string else {
            throw RedisClientError.unexpectedReply("stream entry")
        }
        self.id = id
        let flat = parts[1].array ?? []
        var fields: [(String, ByteBuffer)] = []
        var index = 0
        while index + 1 < flat.count {
            if let name = flat[index].string, let bytes = flat[index + 1].bytes { fields.append((name, bytes)) }
            index += 2
        }
        self.fields = fields
    }
}

/// One pending entry as `XPENDING … IDLE` reports it.
public struct RedisPendingEntry: Sendable, Equatable {
    /// The entry id.
    public var id: String
    /// The consumer that holds it.
    public var consumer: String
    /// Milliseconds since it was last delivered.
    public var idleMilliseconds: Int
    /// How many times it has been delivered.
    public var deliveries: Int
}

/// One consumer group as `XINFO GROUPS` reports it.
public struct RedisStreamGroup: Sendable, Equatable {
    /// The group's name.
    public var name: String
    /// Entries delivered to its consumers and not yet acknowledged.
    public var pending: Int
    /// Entries not yet delivered to it (nil when Redis cannot compute it).
    public var lag: Int?
}

/// The result of `XAUTOCLAIM`.
public struct RedisAutoClaim: Sendable, Equatable {
    /// The cursor to continue from (`0-0` when the scan is complete).
    public var nextStart: String
    /// The entries now owned by the claiming consumer.
    public var entries: [RedisStreamEntry]
    /// Ids that were pending but no longer exist in the stream (Redis 7 removes them from the PEL).
    public var deletedIDs: [String]
}

extension RedisCommandExecutor {
    /// `XADD stream * field value …`: the new entry's id. Never trimmed: an entry stays until its
    /// consumer deletes it (producers apply backpressure on ``xlen(_:)`` instead).
    @discardableResult
    public func xadd(_ stream: String, fields: [(String, any RedisArgumentConvertible)]) async throws -> String {
        var arguments: [any RedisArgumentConvertible] = [stream, "*"]
        for (name, value) in fields { arguments += [name, value] }
        guard let id = try await self.send(RedisCommand("XADD", arguments)).string else {
            throw RedisClientError.unexpectedReply("XADD")
        }
        return id
    }

    /// `XLEN stream`: entries in the stream (0 when it does not exist).
    public func xlen(_ stream: String) async throws -> Int {
        guard let length = try await self.send(RedisCommand("XLEN", stream)).int else { throw RedisClientError.unexpectedReply("XLEN") }
        return length
    }

    /// `XINFO GROUPS stream`: each consumer group's pending count and lag (entries not yet
    /// delivered to it; nil when Redis cannot tell). Empty when the stream does not exist.
    public func xinfoGroups(_ stream: String) async throws -> [RedisStreamGroup] {
        let reply: RESPValue
        do {
            reply = try await self.send(RedisCommand("XINFO", "GROUPS", stream))
        } catch let error as RedisServerError where error.message.contains("no such key") {
            return []
        }
        return (reply.array ?? []).compactMap { group in
            guard let flat = group.array else { return nil }
            var fields: [String: RESPValue] = [:]
            var index = 0
            while index + 1 < flat.count {
                if let name = flat[index].string { fields[name] = flat[index + 1] }
                index += 2
            }
            guard let name = fields["name"]?.string, let pending = fields["pending"]?.int else { return nil }
            return RedisStreamGroup(name: name, pending: pending, lag: fields["lag"]?.int)
        }
    }

    /// `XGROUP CREATE stream group id MKSTREAM`; an existing group is left as it is.
    public func xgroupCreate(_ stream: String, group: String, startID: String = "0") async throws {
        do {
            _ = try await self.send(RedisCommand("XGROUP", "CREATE", stream, group, startID, "MKSTREAM"))
        } catch let error as RedisServerError where error.code == "BUSYGROUP" {
            return
        }
    }

    /// `XREADGROUP GROUP group consumer COUNT n [BLOCK ms] STREAMS stream id`.
    ///
    /// `id` is `>` for new entries or `0` for this consumer's own pending ones. With `block`, the
    /// call waits on the server: run it on a ``RedisClient/dedicatedConnection()``.
    public func xreadgroup(
        group: String,
        consumer: String,
        stream: String,
        id: String = ">",
        count: Int,
        block: Duration? = nil
    ) async throws -> [RedisStreamEntry] {
        var arguments: [any RedisArgumentConvertible] = ["GROUP", group, consumer, "COUNT", count]
        if let block { arguments += ["BLOCK", block.wholeMilliseconds] }
        arguments += ["STREAMS", stream, id]
        let reply = try await self.send(RedisCommand("XREADGROUP", arguments, blockTimeout: block))
        guard let streams = reply.array else { return [] }
        var entries: [RedisStreamEntry] = []
        for streamReply in streams {
            guard let parts = streamReply.array, parts.count == 2, let items = parts[1].array else { continue }
            for item in items { try entries.append(RedisStreamEntry(item)) }
        }
        return entries
    }

    /// `XDEL stream id…`: how many entries were removed.
    @discardableResult
    public func xdel(_ stream: String, ids: [String]) async throws -> Int {
        guard !ids.isEmpty else { return 0 }
        return try await self.send(RedisCommand("XDEL", [stream] + ids)).int ?? 0
    }

    /// `XACK stream group id…`: how many entries were acknowledged.
    @discardableResult
    public func xack(_ stream: String, group: String, ids: [String]) async throws -> Int {
        guard !ids.isEmpty else { return 0 }
        return try await self.send(RedisCommand("XACK", [stream, group] + ids)).int ?? 0
    }

    /// `XAUTOCLAIM stream group consumer minIdle start COUNT n`.
    public func xautoclaim(
        _ stream: String,
        group: String,
        consumer: String,
        minIdle: Duration,
        start: String = "0-0",
        count: Int
    ) async throws -> RedisAutoClaim {
        let idle = minIdle.wholeMilliseconds
        let reply = try await self.send(RedisCommand("XAUTOCLAIM", stream, group, consumer, idle, start, "COUNT", count))
        guard let parts = reply.array, parts.count >= 2, let next = parts[0].string, let items = parts[1].array else {
            throw RedisClientError.unexpectedReply("XAUTOCLAIM")
        }
        let entries = try items.filter { !$0.isNull }.map(RedisStreamEntry.init)
        let deleted = parts.count > 2 ? (parts[2].array ?? []).compactMap(\.string) : []
        return RedisAutoClaim(nextStart: next, entries: entries, deletedIDs: deleted)
    }

    /// `XPENDING stream group start end count [consumer]`: pending entries with idle time and
    /// delivery count, from `start` to `end` (ids, inclusive; `-` and `+` for all).
    public func xpending(
        _ stream: String,
        group: String,
        from start: String = "-",
        to end: String = "+",
        count: Int,
        consumer: String? = nil
    ) async throws -> [RedisPendingEntry] {
        var arguments: [any RedisArgumentConvertible] = [stream, group, start, end, count]
        if let consumer { arguments.append(consumer) }
        let reply = try await self.send(RedisCommand("XPENDING", arguments))
        return (reply.array ?? []).compactMap { item in
            guard let parts = item.array, parts.count == 4, let id = parts[0].string, let consumer = parts[1].string,
                let idle = parts[2].int, let deliveries = parts[3].int
            else { return nil }
            return RedisPendingEntry(id: id, consumer: consumer, idleMilliseconds: idle, deliveries: deliveries)
        }
    }
}
