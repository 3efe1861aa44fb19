import Common
import NIOCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One delivered mail, as `GET /messages` shows it (`GET /messages/{id}/raw` gives `raw`).
struct InboxMessage: Codable, Sendable, Equatable {
    /// The Message-ID without angle brackets (or the idempotency key of a message without one):
    /// stable across redeliveries, so a message is stored once.
    var id: String
    /// The first recipient.
    var to: String
    var subject: String
    /// The text part.
    var body: String
    var receivedAt: Date
    /// The From header.
    var from: String? = nil
    /// Every envelope recipient.
    var recipients: [String] = []
    /// The HTML part, if any.
    var html: String? = nil
    /// Every header, in order, unfolded and decoded: `[name, value]`.
    var headers: [[String]] = []
    /// The RFC 5322 source as received (not in the JSON).
    var raw: String = ""

    enum CodingKeys: String, CodingKey {
        case id, to, subject, body, from, recipients, html, headers
        case receivedAt = "received_at"
    }

    /// A message as received: headers and parts from its source; the id from its Message-ID
    /// (`fallbackID` when it has none).
    init(raw: [UInt8], recipients: [String], fallbackID: String, receivedAt: Date) {
        let parsed = MIMEParser.parse(raw)
        self.id = parsed.messageID ?? fallbackID
        self.to = recipients.first ?? parsed.header("To") ?? ""
        self.subject = parsed.header("Subject") ?? ""
        self.body = parsed.text ?? ""
        self.receivedAt = receivedAt
        self.from = parsed.header("From")
        self.recipients = recipients
        self.html = parsed.html
        self.headers = parsed.headers
        self.raw = String(decoding: raw, as: UTF8.self)
    }

    /// A plain-text message (the seed's `POST /send`, stream entries published before the mailer
    /// built messages), with a source made for it.
    init(id: String, to: String, subject: String, body: String, receivedAt: Date) {
        self.id = id
        self.to = to
        self.subject = subject
        self.body = body
        self.receivedAt = receivedAt
        self.recipients = [to]
        let clean = { (text: String) in String(text.map { $0 == "\r" || $0 == "\n" || $0 == "\r\n" ? " " : $0 }) }
        self.headers = [
            ["To", clean(to)], ["Subject", clean(subject)], ["Message-ID", "<\(clean(id))>"], ["MIME-Version", "1.0"],
            ["Content-Type", "text/plain; charset=utf-8"], ["Content-Transfer-Encoding", "8bit"],
        ]
        let lines = body.split(separator: "\n", omittingEmptySubsequences: false).map { $0.hasSuffix("\r") ? String($0.dropLast()) : String($0) }
        self.raw = self.headers.map { "\($0[0]): \($0[1])" }.joined(separator: "\r\n") + "\r\n\r\n" + lines.joined(separator: "\r\n") + "\r\n"
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
        let others = message.recipients.map { $0.lowercased() }.filter { $0 != message.to.lowercased() }
        return try await self.redis.evaluate(
            Self.storeScript,
            keys: [self.prefix + "msg:" + message.id, self.prefix + "to:" + message.to.lowercased(), self.prefix + "all"],
            arguments: [
                message.id, message.to, message.subject, message.body, String(received), self.retention.wholeMilliseconds,
                message.from ?? "", message.recipients.joined(separator: "\n"), message.raw, self.prefix,
            ] + others
        ) == 1
    }

    /// The newest `limit` messages, to `address` if given.
    func list(to address: String?, limit: Int) async throws -> [InboxMessage] {
        let index = address.map { self.prefix + "to:" + $0.lowercased() } ?? self.prefix + "all"
        let ids = try await self.redis.zrevrange(index, first: limit)
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
        var values: [String: String] = [:]
        for (field, value) in try await self.redis.hgetall(self.prefix + "msg:" + id) { values[field] = String(buffer: value) }
        guard let to = values["to"], let subject = values["subject"], let body = values["body"],
            let received = values["received_at"].flatMap(Int64.init)
        else { return nil }
        var message = InboxMessage(id: id, to: to, subject: subject, body: body, receivedAt: Date(timeIntervalSince1970: Double(received) / 1000))
        if let raw = values["raw"], !raw.isEmpty {
            message.raw = raw
            message.from = values["from"].flatMap { $0.isEmpty ? nil : $0 }
            message.recipients = values["recipients"].map { $0.split(separator: "\n").map(String.init) } ?? [to]
            // The HTML and the headers are read from the source (stored once: half the bytes
            // Redis writes, with its append-only file, per message).
            let parsed = MIMEParser.parse(Array(raw.utf8))
            message.html = parsed.html
            message.headers = parsed.headers
        }
        return message
    }

    /// Deletes every message (idempotency is forgotten with them).
    func clear() async throws {
        try await self.redis.evaluate(Self.clearScript, keys: [self.prefix + "all"], arguments: [self.prefix])
    }

    /// KEYS: message hash, first recipient's index, global index. ARGV: id, to, subject, body,
    /// received (ms), retention (ms), from, recipients, raw, key prefix, then the other
    /// recipients (lower-cased), each indexed too.
    static let storeScript = RedisScript(
        integer: """
            if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
            redis.call('HSET', KEYS[1], 'to', ARGV[2], 'subject', ARGV[3], 'body', ARGV[4], 'received_at', ARGV[5],
                'from', ARGV[7], 'recipients', ARGV[8], 'raw', ARGV[9])
            redis.call('PEXPIRE', KEYS[1], ARGV[6])
            redis.call('ZADD', KEYS[2], ARGV[5], ARGV[1])
            redis.call('PEXPIRE', KEYS[2], ARGV[6])
            for i = 11, #ARGV do
                redis.call('ZADD', ARGV[10] .. 'to:' .. ARGV[i], ARGV[5], ARGV[1])
                redis.call('PEXPIRE', ARGV[10] .. 'to:' .. ARGV[i], ARGV[6])
            end
            redis.call('ZADD', KEYS[3], ARGV[5], ARGV[1])
            redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', tonumber(ARGV[5]) - tonumber(ARGV[6]))
            return 1
            """,
        name: "inbox store"
    )

    /// KEYS: global index. ARGV: key prefix.
    static let clearScript = RedisScript(
        """
        local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
        for _, id in ipairs(ids) do
            local to = redis.call('HGET', ARGV[1] .. 'msg:' .. id, 'to')
            if to then redis.call('DEL', ARGV[1] .. 'to:' .. string.lower(to)) end
            local recipients = redis.call('HGET', ARGV[1] .. 'msg:' .. id, 'recipients')
            if recipients then
                for address in string.gmatch(recipients, '[^\\n]+') do redis.call('DEL', ARGV[1] .. 'to:' .. string.lower(address)) end
            end
            redis.call('DEL', ARGV[1] .. 'msg:' .. id)
        end
        redis.call('DEL', KEYS[1])
        return #ids
        """
    )
}
