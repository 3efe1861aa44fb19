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
}
