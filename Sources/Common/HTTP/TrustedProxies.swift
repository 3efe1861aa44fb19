import HTTPTypes
import Hummingbird

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The proxies whose `X-Real-IP` header names the client (`TRUSTED_PROXIES`, CIDR ranges, default
/// the loopback edge `127.0.0.1/32,::1/128`). A request from any other peer is that peer's own:
/// a client reaching a service directly cannot choose the address its rate limits are charged to.
public struct TrustedProxies: Sendable, Equatable {
    /// One CIDR range.
    struct Range: Sendable, Equatable {
        var network: [UInt8]
        var prefixLength: Int

        func contains(_ address: [UInt8]) -> Bool {
            guard address.count == self.network.count else { return false }
            var remaining = self.prefixLength
            for (left, right) in zip(address, self.network) where remaining > 0 {
                let bits = min(8, remaining)
                let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
                if left & mask != right & mask { return false }
                remaining -= bits
            }
            return true
        }
    }

    private let ranges: [Range]

    /// Parses a comma-separated list of addresses and CIDR ranges; nil when one does not parse.
    public init?(_ list: String) {
        var ranges: [Range] = []
        for item in list.split(separator: ",").map({ String($0.trimmingWhitespace()) }) where !item.isEmpty {
            let parts = item.split(separator: "/", maxSplits: 1).map(String.init)
            guard let network = Self.bytes(of: parts[0]) else { return nil }
            let prefix = parts.count == 2 ? Int(parts[1]) : network.count * 8
            guard let prefix, (0...network.count * 8).contains(prefix) else { return nil }
            ranges.append(Range(network: network, prefixLength: prefix))
        }
        self.ranges = ranges
    }

    /// Reads `TRUSTED_PROXIES`.
    public init(environment: EnvironmentReader) throws {
        let text = environment.string("TRUSTED_PROXIES", default: "127.0.0.1/32,::1/128")
        guard let proxies = TrustedProxies(text) else {
            throw ConfigurationError(key: "TRUSTED_PROXIES", expected: "comma-separated IP addresses or CIDR ranges", found: text)
        }
        self = proxies
    }

    /// Whether `address` (textual IPv4 or IPv6) is a trusted proxy.
    public func contains(_ address: String) -> Bool {
        guard let bytes = Self.bytes(of: address) else { return false }
        return self.ranges.contains { $0.contains(bytes) }
    }

    /// The client of `request`: the edge's `X-Real-IP` when the peer is a trusted proxy and the
    /// header is an IP address, otherwise the peer itself (`unknown` without one).
    public func clientAddress(of request: Request, peer: String?) -> String {
        guard let peer else { return "unknown" }
        if self.contains(peer), let real = request.headers[.xRealIP], Self.bytes(of: real) != nil {
            return real
        }
        return peer
    }

    /// The 4 or 16 bytes of a textual IP address, or nil.
    static func bytes(of text: String) -> [UInt8]? {
        guard text.utf8.count <= 64 else { return nil }
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }
}

extension HTTPField.Name {
    /// `X-Real-IP`: the client address, as set by the edge.
    public static let xRealIP = Self("X-Real-IP")!
}

extension RegistrarRequestContext {
    /// The client's address for rate limits, trusting `X-Real-IP` only from `proxies`.
    public func clientAddress(of request: Request, trusting proxies: TrustedProxies) -> String {
        proxies.clientAddress(of: request, peer: self.remoteAddress)
    }
}
