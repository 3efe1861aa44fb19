import Redis

extension RedisSentinel {
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
