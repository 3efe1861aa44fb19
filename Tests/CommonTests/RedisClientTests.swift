import Common
import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import TestSupport
import Testing

@Suite(.timeLimit(.minutes(2))) struct RedisClientTests {
    let logger = TestEnvironment.logger("redis-test")

    func withClient<Value: Sendable>(
        _ configuration: RedisConfiguration? = nil,
        _ body: @Sendable (RedisClient) async throws -> Value
    ) async throws -> Value {
        let client = RedisClient(configuration: try configuration ?? TestEnvironment.redisConfiguration(), logger: self.logger)
        defer { Task { await client.shutdown() } }
        let value = try await body(client)
        await client.shutdown()
        return value
    }

    @Test func tenThousandPipelinedCommandsFromHundredTasksEachGetTheirOwnReply() async throws {
        try await self.withClient { client in
            let prefix = "pipeline:\(UUID().uuidString)"
            try await withThrowingTaskGroup(of: Int.self) { group in
                for task in 0..<100 {
                    group.addTask {
                        var matched = 0
                        for command in 0..<100 {
                            let payload = "\(prefix):\(task):\(command)"
                            let reply = try await client.send(RedisCommand("ECHO", payload))
                            if reply.string == payload { matched += 1 }
                        }
                        return matched
                    }
                }
                var total = 0
                for try await matched in group { total += matched }
                #expect(total == 10_000)
            }
        }
    }

    @Test func oneMebibyteBinaryValueRoundTrips() async throws {
        try await self.withClient { client in
            let key = "binary:\(UUID().uuidString)"
            let value: [UInt8] = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ ($0 >> 8)) }
            #expect(value.contains(0) && value.contains(13) && value.contains(10))
            try await client.set(key, to: value, expiresIn: .seconds(30))
            let read = try #require(try await client.get(key))
            #expect(read.readableBytes == value.count)
            #expect(Array(read.readableBytesView) == value)
            try await client.delete(key)
        }
    }

    @Test func aServerErrorFailsOnlyTheAffectedRequest() async throws {
        try await self.withClient { client in
            let key = "list:\(UUID().uuidString)"
            _ = try await client.send(RedisCommand("RPUSH", key, "x"))
            let results = await withTaskGroup(of: (Int, Result<RESPValue, any Error>).self) { group in
                for index in 0..<50 {
                    group.addTask {
                        let command =
                            switch index {
                            case 10: RedisCommand("GET", key)  // WRONGTYPE
                            case 20: RedisCommand("GET", [])  // wrong number of arguments
                            case 30: RedisCommand("NOSUCHCOMMAND", "x")
                            default: RedisCommand("ECHO", "n\(index)")
                            }
                        do { return (index, .success(try await client.send(command))) } catch { return (index, .failure(error)) }
                    }
                }
                var results: [Int: Result<RESPValue, any Error>] = [:]
                for await (index, result) in group { results[index] = result }
                return results
            }
            for (index, result) in results {
                switch (index, result) {
                case (10, .failure(let error as RedisServerError)): #expect(error.code == "WRONGTYPE")
                case (20, .failure(let error as RedisServerError)): #expect(error.code == "ERR")
                case (30, .failure(let error as RedisServerError)): #expect(error.code == "ERR")
                case (10, _), (20, _), (30, _): Issue.record("command \(index) should fail with a server error, got \(result)")
                case (_, .success(let value)): #expect(value.string == "n\(index)")
                case (_, .failure(let error)): Issue.record("command \(index) failed: \(error)")
                }
            }
            try await client.ping()
            try await client.delete(key)
        }
    }

    @Test func aRedisRestartIsSurvived() async throws {
        let server = try RedisServerProcess()
        defer { server.stop() }
        try await self.withClient(server.configuration()) { client in
            try await client.set("k", to: "before")
            server.stop()
            // While the server is down, commands fail fast with a transient error; none hangs.
            let clock = ContinuousClock()
            let started = clock.now
            for _ in 0..<5 {
                do {
                    _ = try await client.get("k")
                    Issue.record("a command succeeded while Redis was down")
                } catch let error as RedisClientError {
                    #expect(error.isTransient)
                }
            }
            #expect(clock.now - started < .seconds(5))
            try server.start()
            var recovered = false
            for _ in 0..<100 where !recovered {
                if (try? await client.set("k", to: "after")) != nil { recovered = true } else { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(recovered, "the client reconnects once Redis is back")
            #expect(try await client.get("k").map { String(buffer: $0) } == "after")
        }
    }

    @Test func authenticatesAndSelectsTheDatabaseFromTheURL() async throws {
        let server = try RedisServerProcess(arguments: ["--requirepass", "pa:ss@word"])
        defer { server.stop() }
        let url = "redis://:pa%3Ass%40word@127.0.0.1:\(server.port)/3"
        try await self.withClient(try RedisConfiguration(url: url)) { client in
            try await client.set("where", to: "db3")
            #expect(try await client.send(RedisCommand("CLIENT", "INFO")).string?.contains("db=3") == true)
        }
        try await self.withClient(server.configuration(password: "pa:ss@word")) { client in
            let value = try await client.get("where")
            #expect(value == nil, "database 0 does not see database 3's key")
        }
        await #expect(throws: RedisServerError.self) {
            try await self.withClient(server.configuration(password: "wrong")) { client in try await client.ping() }
        }
    }

    @Test func scriptsAreLoadedAutomaticallyAfterAFlush() async throws {
        // A server of its own: SCRIPT FLUSH on the shared one would disturb suites running in parallel.
        let server = try RedisServerProcess()
        defer { server.stop() }
        try await self.withClient(server.configuration()) { client in
            let script = RedisScript(integer: "return tonumber(ARGV[1]) + redis.call('INCR', KEYS[1])", name: "increment")
            let key = "script:\(UUID().uuidString)"
            _ = try await client.send(RedisCommand("SCRIPT", "FLUSH"))
            #expect(try await client.evaluate(script, keys: [key], arguments: [10]) == 11)
            #expect(try await client.evaluate(script, keys: [key], arguments: [10]) == 12)
            _ = try await client.send(RedisCommand("SCRIPT", "FLUSH"))
            #expect(try await client.evaluate(script, keys: [key], arguments: [10]) == 13)
            let cached = try await client.send(RedisCommand("SCRIPT", "EXISTS", script.sha1))
            #expect(cached.array?.first?.int == 1, "EVAL cached the script for the next EVALSHA")
            try await client.delete(key)
        }
    }

    @Test func streamsWithConsumerGroupsBlockingReadsAndClaims() async throws {
        try await self.withClient { client in
            let stream = "stream:\(UUID().uuidString)"
            try await client.xgroupCreate(stream, group: "g")
            try await client.xgroupCreate(stream, group: "g")  // idempotent
            let reader = try await client.dedicatedConnection()
            defer { Task { await reader.close() } }
            async let delivered = reader.xreadgroup(group: "g", consumer: "c1", stream: stream, count: 10, block: .seconds(5))
            try await Task.sleep(for: .milliseconds(100))
            let id = try await client.xadd(stream, fields: [("to", "me@example.com"), ("body", [0, 1, 2] as [UInt8])])
            let entries = try await delivered
            #expect(entries.map(\.id) == [id])
            #expect(entries.first?["to"].map { String(buffer: $0) } == "me@example.com")
            #expect(entries.first?["body"].map { Array($0.readableBytesView) } == [0, 1, 2])

            let pending = try await client.xpending(stream, group: "g", count: 10)
            #expect(pending.map(\.id) == [id] && pending.first?.consumer == "c1" && pending.first?.deliveries == 1)

            try await Task.sleep(for: .milliseconds(60))
            let claim = try await client.xautoclaim(stream, group: "g", consumer: "c2", minIdle: .milliseconds(50), count: 10)
            #expect(claim.entries.map(\.id) == [id])
            #expect(try await client.xpending(stream, group: "g", count: 10).first?.consumer == "c2")

            #expect(try await client.xack(stream, group: "g", ids: [id]) == 1)
            #expect(try await client.xpending(stream, group: "g", count: 10).isEmpty)
            // A blocking read that times out returns no entries.
            #expect(try await reader.xreadgroup(group: "g", consumer: "c1", stream: stream, count: 1, block: .milliseconds(50)).isEmpty)
            try await client.delete(stream)
            await reader.close()
        }
    }

    @Test func stopsCleanlyAsAServiceAndRefusesLaterCommands() async throws {
        let client = RedisClient(configuration: try TestEnvironment.redisConfiguration(), logger: self.logger)
        let group = ServiceGroup(services: [client], logger: self.logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            try await client.ping()
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        await #expect(throws: RedisClientError.shutDown) { try await client.ping() }
    }
}
