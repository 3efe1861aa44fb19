import Common

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One delivered mail, as `GET /messages` shows it.
struct InboxMessage: Codable, Sendable, Equatable {
    /// The idempotency key it was delivered with (stable across redeliveries).
    var id: String
    var to: String
    var subject: String
    var body: String
    var receivedAt: Date

    enum CodingKeys: String, CodingKey {
        case id, to, subject, body
        case receivedAt = "received_at"
    }
}

/// The inbox, in Redis so every replica serves the same one. A message is stored once per
/// idempotency key: a redelivered or re-published entry is recognised and not stored again.
///
/// Keys under `<stream>:inbox:`: `msg:<id>` (hash), `to:<address>` and `all` (sorted sets by
/// arrival time). Entries expire after the retention period.
struct Inbox: Sendable {
    let redis: RedisClient
    let prefix: String
    let retention: Duration

    init(redis: RedisClient, stream: String, retention: Duration) {
        self.redis = redis
        self.prefix = "\(stream):inbox:"
        self.retention = retention
    }

    /// Stores `message` unless one with its id exists; returns whether it was new.
    func store(_ message: InboxMessage) async throws -> Bool {
        let received = Int64((message.receivedAt.timeIntervalSince1970 * 1000).rounded())
        let reply = try await self.redis.evaluate(
            Self.storeScript,
            keys: [self.prefix + "msg:" + message.id, self.prefix + "to:" + message.to.lowercased(), self.prefix + "all"],
            arguments: [message.id, message.to, message.subject, message.body, String(received), self.retention.wholeMilliseconds]
        )
        return reply.int == 1
    }

    /// The newest `limit` messages, to `address` if given.
    func list(to address: String?, limit: Int) async throws -> [InboxMessage] {
        let index = address.map { self.prefix + "to:" + $0.lowercased() } ?? self.prefix + "all"
        let ids = try await self.redis.send(RedisCommand("ZREVRANGE", index, 0, limit - 1)).array?.compactMap(\.string) ?? []
        return try await withThrowingTaskGroup(of: (Int, InboxMessage?).self) { group in
            for (position, id) in ids.enumerated() {
                group.addTask { (position, try await self.message(id: id)) }
            }
            var found: [(Int, InboxMessage)] = []
            for try await (position, message) in group { if let message { found.append((position, message)) } }
            return found.sorted { $0.0 < $1.0 }.map(\.1)
        }
    }

    /// One message by id.
    func message(id: String) async throws -> InboxMessage? {
        let fields = try await self.redis.send(RedisCommand("HGETALL", self.prefix + "msg:" + id)).array ?? []
        var values: [String: String] = [:]
        var index = 0
        while index + 1 < fields.count {
            if let key = fields[index].string { values[key] = fields[index + 1].string }
            index += 2
        }
        guard let to = values["to"], let subject = values["subject"], let body = values["body"],
            let received = values["received_at"].flatMap(Int64.init)
        else { return nil }
        return InboxMessage(id: id, to: to, subject: subject, body: body, receivedAt: Date(timeIntervalSince1970: Double(received) / 1000))
    }

    /// Deletes every message (idempotency is forgotten with them).
    func clear() async throws {
        _ = try await self.redis.evaluate(Self.clearScript, keys: [self.prefix + "all"], arguments: [self.prefix])
    }

    /// KEYS: message hash, recipient index, global index. ARGV: id, to, subject, body, received (ms), retention (ms).
    static let storeScript = RedisScript(
        """
        if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
        redis.call('HSET', KEYS[1], 'to', ARGV[2], 'subject', ARGV[3], 'body', ARGV[4], 'received_at', ARGV[5])
        redis.call('PEXPIRE', KEYS[1], ARGV[6])
        redis.call('ZADD', KEYS[2], ARGV[5], ARGV[1])
        redis.call('PEXPIRE', KEYS[2], ARGV[6])
        redis.call('ZADD', KEYS[3], ARGV[5], ARGV[1])
        redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', tonumber(ARGV[5]) - tonumber(ARGV[6]))
        return 1
        """
    )

    /// KEYS: global index. ARGV: key prefix.
    static let clearScript = RedisScript(
        """
        local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
        for _, id in ipairs(ids) do
            local to = redis.call('HGET', ARGV[1] .. 'msg:' .. id, 'to')
            if to then redis.call('DEL', ARGV[1] .. 'to:' .. string.lower(to)) end
            redis.call('DEL', ARGV[1] .. 'msg:' .. id)
        end
        redis.call('DEL', KEYS[1])
        return #ids
        """
    )
}
