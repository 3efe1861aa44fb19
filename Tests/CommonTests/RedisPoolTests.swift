import Common
import Foundation
import NIOCore
import TestSupport
import Testing

/// Issue 15's first defects, on a Redis server of the test's own: the pool opens as many
/// connections as its size, a cancelled caller fails at once (even against a frozen Redis) and
/// leaves its connection in step, and a frozen Redis times out what is in flight together.
@Suite(.timeLimit(.minutes(1))) struct RedisPoolTests {
    let logger = TestEnvironment.logger("redis-pool")

    func client(_ server: RedisServerProcess, poolSize: Int = 4, commandTimeout: Duration = .seconds(5)) -> RedisClient {
        var configuration = server.configuration()
        configuration.poolSize = poolSize
        configuration.commandTimeout = commandTimeout
        return RedisClient(configuration: configuration, logger: self.logger)
    }

    @Test(arguments: [1, 4])
    func thePoolOpensAsManyConnectionsAsItsSize(poolSize: Int) async throws {
        let server = try RedisServerProcess()
        defer { server.stop() }
        let client = self.client(server, poolSize: poolSize)
        for _ in 0..<20 { _ = try await client.send(RedisCommand("PING")) }
        var connections = 0
        for _ in 0..<100 {
            let list = try await client.send(RedisCommand("CLIENT", "LIST")).string ?? ""
            connections = list.split(separator: "\n").filter { $0.contains("cmd=") }.count
            if connections == poolSize { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(connections == poolSize, "CLIENT LIST shows REDIS_POOL_SIZE connections")
        await client.shutdown()
    }

    @Test func aCancelledCommandFailsAtOnceAndTheConnectionStaysInStep() async throws {
        let server = try RedisServerProcess()
        defer { server.stop() }
        let client = self.client(server, poolSize: 1)
        _ = try await client.send(RedisCommand("PING"))
        server.pause()
        let clock = ContinuousClock()
        let started = clock.now
        let task = Task { try await client.send(RedisCommand("ECHO", "before")) }
        try await Task.sleep(for: .milliseconds(100))
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(clock.now - started < .seconds(2), "not the 5 s command timeout")
        server.resume()
        // The cancelled command's reply arrives first and is dropped; the next one gets its own.
        #expect(try await client.send(RedisCommand("ECHO", "after")).string == "after")
        await client.shutdown()
    }

    @Test func aFrozenRedisFailsEverythingInFlightAtTheOldestDeadline() async throws {
        let server = try RedisServerProcess()
        defer { server.stop() }
        let client = self.client(server, poolSize: 1, commandTimeout: .milliseconds(300))
        _ = try await client.send(RedisCommand("PING"))
        server.pause()
        defer { server.resume() }
        let clock = ContinuousClock()
        let started = clock.now
        let outcomes = await withTaskGroup(of: Bool.self) { group in
            for index in 0..<10 {
                group.addTask {
                    do {
                        _ = try await client.send(RedisCommand("ECHO", "\(index)"))
                        return false
                    } catch let error as RedisClientError {
                        if case .timeout = error { return true }
                        return false
                    } catch {
                        return false
                    }
                }
            }
            var timedOut = 0
            for await outcome in group where outcome { timedOut += 1 }
            return timedOut
        }
        #expect(outcomes == 10, "every command in flight fails with a timeout")
        #expect(clock.now - started < .seconds(2))
        await client.shutdown()
    }
}

/// `rediss://`: Debian's redis-server speaking TLS only, with the CA and certificate `make test`
/// makes for 127.0.0.1.
@Suite(.timeLimit(.minutes(1))) struct RedisTLSTests {
    let logger = TestEnvironment.logger("redis-tls")

    func configuration(_ server: RedisServerProcess, ca: String?) throws -> RedisConfiguration {
        var configuration = server.configuration()
        configuration.tls = try RedisTLS(caFile: ca)
        configuration.commandTimeout = .seconds(2)
        return configuration
    }

    @Test func commandsGoOverTLSVerifiedByTheCA() async throws {
        let directory = try TestEnvironment.require("TEST_TLS_DIR")
        let server = try RedisServerProcess(tlsDirectory: directory)
        defer { server.stop() }
        let client = RedisClient(configuration: try self.configuration(server, ca: "\(directory)/ca.crt"), logger: self.logger)
        try await client.set("tls", to: "yes")
        #expect(try await client.get("tls").map { String(buffer: $0) } == "yes")
        await client.shutdown()
    }

    @Test func aCertificateFromAnotherCAIsRefusedWithACleanError() async throws {
        let directory = try TestEnvironment.require("TEST_TLS_DIR")
        let server = try RedisServerProcess(tlsDirectory: directory)
        defer { server.stop() }
        let client = RedisClient(configuration: try self.configuration(server, ca: "\(directory)/other-ca.crt"), logger: self.logger)
        do {
            _ = try await client.send(RedisCommand("PING"))
            Issue.record("a server certificate from another CA was accepted")
        } catch let error as RedisClientError {
            #expect(error.isTransient)
            #expect(String(describing: error).contains("CERTIFICATE_VERIFY_FAILED"), "\(error)")
        }
        await client.shutdown()
    }

    @Test func aPlaintextClientGetsNoAnswerButAnError() async throws {
        let directory = try TestEnvironment.require("TEST_TLS_DIR")
        let server = try RedisServerProcess(tlsDirectory: directory)
        defer { server.stop() }
        var configuration = server.configuration()
        configuration.commandTimeout = .milliseconds(500)
        let client = RedisClient(configuration: configuration, logger: self.logger)
        await #expect(throws: (any Error).self) { _ = try await client.send(RedisCommand("PING")) }
        await client.shutdown()
    }

    @Test func aRedissURLReadsTheTLSFilesFromTheEnvironment() throws {
        let directory = try TestEnvironment.require("TEST_TLS_DIR")
        let configuration = try RedisConfiguration(
            environment: EnvironmentReader(["REDIS_URL": "rediss://cache.internal:6380/1", "REDIS_TLS_CA_FILE": "\(directory)/ca.crt"])
        )
        #expect(configuration.tls?.caFile == "\(directory)/ca.crt")
        #expect(configuration.port == 6380)
        #expect(try RedisConfiguration(environment: EnvironmentReader(["REDIS_URL": "redis://cache.internal"])).tls == nil)
        #expect(throws: ConfigurationError.self) {
            try RedisConfiguration(environment: EnvironmentReader(["REDIS_URL": "rediss://cache.internal", "REDIS_TLS_CA_FILE": "/nonexistent.pem"]))
        }
    }
}
