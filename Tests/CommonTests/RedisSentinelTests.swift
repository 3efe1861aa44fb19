import Common
import Foundation
import NIOCore
import TestSupport
import Testing

/// Issue 15, Sentinel: the settings, and a client that follows a failover between two real
/// servers watched by a real sentinel.
@Suite(.timeLimit(.minutes(1))) struct RedisSentinelTests {
    let logger = TestEnvironment.logger("redis-sentinel")

    @Test func sentinelListsAreParsed() throws {
        let sentinel = try RedisSentinel(list: " a.internal:26380, 10.0.0.2 ,[::1]:26381", primaryName: "cache")
        #expect(sentinel.sentinels.map(\.description) == ["a.internal:26380", "10.0.0.2:26379", "[::1]:26381"])
        #expect(sentinel.sentinels[2].host == "::1")
        #expect(sentinel.primaryName == "cache")
        #expect(throws: ConfigurationError.self) { try RedisSentinel(list: " , ", primaryName: "cache") }
        #expect(throws: ConfigurationError.self) { try RedisSentinel(list: "a:1/2", primaryName: "cache") }
        #expect(throws: ConfigurationError.self) { try RedisSentinel(list: "a:1", primaryName: "two words") }
    }

    @Test func sentinelsComeFromTheEnvironmentAndNeedAPrimaryName() throws {
        let configuration = try RedisConfiguration(
            environment: EnvironmentReader([
                "REDIS_URL": "redis://:secret@ignored:1/2", "REDIS_SENTINELS": "s1:26379,s2:26379", "REDIS_SENTINEL_MASTER": "registrar",
                "REDIS_SENTINEL_PASSWORD": "sentinel-secret",
            ])
        )
        #expect(configuration.sentinel?.sentinels.count == 2)
        #expect(configuration.sentinel?.password == "sentinel-secret")
        #expect(configuration.password == "secret" && configuration.database == 2)
        #expect(configuration.target.hasPrefix("primary 'registrar' of sentinels s1:26379,s2:26379"))
        #expect(throws: ConfigurationError.self) {
            try RedisConfiguration(environment: EnvironmentReader(["REDIS_SENTINELS": "s1:26379"]))
        }
        #expect(throws: ConfigurationError.self) {
            try RedisConfiguration(environment: EnvironmentReader(["REDIS_SENTINEL_MASTER": "registrar"]))
        }
    }

    /// A real primary, its replica and a sentinel: the client finds the primary through the
    /// sentinel, and after a failover (the primary killed) writes go to the promoted replica.
    @Test func theClientFollowsAFailover() async throws {
        let primary = try RedisServerProcess()
        defer { primary.stop() }
        let replica = try RedisServerProcess(arguments: ["--replicaof", "127.0.0.1", String(primary.port)])
        defer { replica.stop() }
        let sentinel = try RedisSentinelProcess(primaryPort: primary.port)
        defer { sentinel.stop() }
        var configuration = RedisConfiguration(host: "unused", port: 1, poolSize: 2, connectTimeout: .milliseconds(500))
        configuration.sentinel = RedisSentinel(
            sentinels: [RedisSentinel.Address(host: "127.0.0.1", port: 1), sentinel.address],
            primaryName: "registrar"
        )
        let client = RedisClient(
            configuration: configuration,
            backoff: Backoff(base: .milliseconds(50), cap: .milliseconds(300)),
            logger: self.logger
        )
        defer { Task { await client.shutdown() } }

        try await client.set("sentinel-test", to: "before")
        #expect(try await client.send(RedisCommand("CONFIG", "GET", "port")).array?.last?.int == primary.port)
        // The sentinel knows the replica (it asks the primary's INFO) before the primary dies.
        let sentinelClient = RedisClient(configuration: RedisConfiguration(host: "127.0.0.1", port: sentinel.port, poolSize: 1), logger: self.logger)
        defer { Task { await sentinelClient.shutdown() } }
        for _ in 0..<100 {
            let replicas = try await sentinelClient.send(RedisCommand("SENTINEL", "REPLICAS", "registrar")).array ?? []
            if !replicas.isEmpty { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        _ = try await client.wait(replicas: 1, timeout: .seconds(2))
        primary.stop()
        let killed = ContinuousClock.now
        var port: Int?
        while ContinuousClock.now - killed < .seconds(20) {
            do {
                try await client.set("sentinel-test", to: "after")
                port = try await client.send(RedisCommand("CONFIG", "GET", "port")).array?.last?.int
                break
            } catch let error as RedisClientError where error.isTransient {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        #expect(port == replica.port)
        #expect(try await client.get("sentinel-test").map { String(buffer: $0) } == "after")
    }
}
