/// Redis Sentinel: where the sentinels are and which primary to ask them for
/// (`REDIS_SENTINELS=host:port,…`, `REDIS_SENTINEL_MASTER=name`).
///
/// With sentinels, every new connection (pool slot, blocking reader) first asks them for the
/// primary's address (`SENTINEL GET-MASTER-ADDR-BY-NAME`), the first that answers wins, then
/// confirms with `ROLE` that the server it reached is a primary. A connection that drops, or a
/// reply `-READONLY` (the server was demoted to a replica), closes it; the next connection asks
/// again, so the client follows a failover as soon as the sentinels have promoted a replica.
public struct RedisSentinel: Sendable, Equatable {
    /// One sentinel's address.
    public struct Address: Sendable, Equatable, CustomStringConvertible {
        /// The host name or address.
        public var host: String
        /// The port (default 26379).
        public var port: Int

        /// Creates an address.
        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }

        public var description: String { self.host.contains(":") ? "[\(self.host)]:\(self.port)" : "\(self.host):\(self.port)" }
    }

    /// The sentinels, asked in order (the last one that answered first).
    public var sentinels: [Address]
    /// The primary's name in the sentinels' configuration (`sentinel monitor <name> …`).
    public var primaryName: String
    /// The sentinels' password (`REDIS_SENTINEL_PASSWORD`, their `requirepass`), if any.
    public var password: String?

    /// Creates settings.
    public init(sentinels: [Address], primaryName: String, password: String? = nil) {
        self.sentinels = sentinels
        self.primaryName = primaryName
        self.password = password
    }

    /// Parses `host:port,host:port,…` (the port defaults to 26379; IPv6 as `[::1]:26379`).
    public init(list: String, primaryName: String, password: String? = nil, key: String = "REDIS_SENTINELS") throws {
        var sentinels: [Address] = []
        for item in list.split(separator: ",") {
            let text = item.trimmingWhitespace()
            guard !text.isEmpty else { continue }
            let parsed = try ConnectionURL("redis://\(text)", key: key, schemes: ["redis"], example: "sentinel-1:26379,sentinel-2:26379")
            guard parsed.path.isEmpty, parsed.user == nil, !parsed.host.isEmpty else {
                throw ConfigurationError(key: key, expected: "host:port,host:port", found: String(text))
            }
            let host = parsed.host.hasPrefix("[") && parsed.host.hasSuffix("]") ? String(parsed.host.dropFirst().dropLast()) : parsed.host
            sentinels.append(Address(host: host, port: parsed.port ?? 26379))
        }
        guard !sentinels.isEmpty else {
            throw ConfigurationError(key: key, expected: "at least one host:port", found: list)
        }
        guard !primaryName.isEmpty, !primaryName.contains(where: { $0 == " " || $0 == "\r" || $0 == "\n" }) else {
            throw ConfigurationError(key: "REDIS_SENTINEL_MASTER", expected: "the monitored primary's name", found: primaryName)
        }
        self.init(sentinels: sentinels, primaryName: primaryName, password: password)
    }
}

extension Substring {
    fileprivate func trimmingWhitespace() -> Substring {
        var text = self
        while let first = text.first, first.isWhitespace { text.removeFirst() }
        while let last = text.last, last.isWhitespace { text.removeLast() }
        return text
    }
}
