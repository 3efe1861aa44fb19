import Common
import Foundation
import PostgresNIO
import TestSupport
import Testing

/// outbox → mailer → Redis stream → SMTP mock, as real processes on real Postgres and Redis.
@Suite(.serialized, .timeLimit(.minutes(4))) struct PipelineTests {
    @Test func aThousandMessagesThroughTwoMailersAndTwoConsumersLandExactlyOnce() async throws {
        try await PipelineHarness.run { pipeline in
            try await pipeline.startMailer("m1", ["MAILER_BATCH_SIZE": "50"])
            try await pipeline.startMailer("m2", ["MAILER_BATCH_SIZE": "50"])
            try await pipeline.startConsumer("c1", ["SMTP_MOCK_BATCH_SIZE": "20"])
            try await pipeline.startConsumer("c2", ["SMTP_MOCK_BATCH_SIZE": "20"])
            let keys = try await pipeline.insert(1000)
            let delivered = try await pipeline.waitForInbox(count: 1000)
            #expect(delivered == keys, "every message delivered, none twice, nothing foreign")
            #expect(try await pipeline.waitForSettledOutbox() == ["dispatched": 1000])
            let lockers = try await pipeline.postgres.query("SELECT count(DISTINCT locked_by)::int FROM outbox", logger: pipeline.logger)
            for try await count in lockers.decode(Int.self) { #expect(count == 0, "leases released") }
        }
    }

    @Test func aMailerKilledMidBatchLosesAndDoublesNothing() async throws {
        let redis = try RedisServerProcess()
        try await PipelineHarness.run(redisURL: "redis://127.0.0.1:\(redis.port)/0") { pipeline in
            try await pipeline.startConsumer("c1")
            let keys = try await pipeline.insert(3000)
            // Writes paused (reads go on, so the backlog check passes): the mailer claims a batch
            // and waits on its XADDs, holding the lease.
            _ = try await pipeline.redis.send(RedisCommand("CLIENT", "PAUSE", 60000, "WRITE"))
            try await pipeline.startMailer("doomed", ["MAILER_BATCH_SIZE": "500", "MAILER_LEASE_SECONDS": "1"])
            var stranded = 0
            let deadline = ContinuousClock.now + .seconds(20)
            while stranded == 0 && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
                stranded = try await pipeline.statuses()["processing", default: 0]
            }
            pipeline.kill(mailer: "doomed")
            #expect(stranded == 500, "the mailer died holding a leased batch")
            // The survivor republishes after the lease.
            _ = try await pipeline.redis.send(RedisCommand("CLIENT", "UNPAUSE"))
            try await pipeline.startMailer("survivor", ["MAILER_LEASE_SECONDS": "1"])
            #expect(try await pipeline.waitForInbox(count: 3000) == keys)
            #expect(try await pipeline.waitForSettledOutbox() == ["dispatched": 3000])
        }
    }

    @Test func aConsumerKilledWithUnacknowledgedEntriesIsTakenOver() async throws {
        try await PipelineHarness.run { pipeline in
            // c1 reads entries but never acknowledges them, then dies.
            try await pipeline.startConsumer("c1", ["SMTP_MOCK_FAILURE_RATE": "1", "SMTP_MOCK_CLAIM_IDLE_MS": "600000"])
            try await pipeline.startMailer("m1")
            let keys = try await pipeline.insert(200)
            #expect(try await pipeline.waitForSettledOutbox() == ["dispatched": 200])
            var pending: [RedisPendingEntry] = []
            let deadline = ContinuousClock.now + .seconds(20)
            while pending.count < 200 && ContinuousClock.now < deadline {
                pending = try await pipeline.redis.xpending(pipeline.stream, group: "smtp-mock", count: 1000)
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(pending.count == 200 && pending.allSatisfy { $0.consumer == "c1" })
            pipeline.kill(consumer: "c1")
            try await pipeline.startConsumer("c2", ["SMTP_MOCK_CLAIM_IDLE_MS": "300"])
            #expect(try await pipeline.waitForInbox(count: 200) == keys)
            #expect(try await pipeline.deadLetters() == 0)
        }
    }

    @Test func withThirtyPercentFailedDeliveriesEveryMessageStillArrivesOnce() async throws {
        try await PipelineHarness.run { pipeline in
            let flaky = ["SMTP_MOCK_FAILURE_RATE": "0.3", "SMTP_MOCK_CLAIM_IDLE_MS": "200", "SMTP_MOCK_MAX_DELIVERIES": "30"]
            try await pipeline.startConsumer("c1", flaky)
            try await pipeline.startConsumer("c2", flaky)
            try await pipeline.startMailer("m1")
            let keys = try await pipeline.insert(300)
            #expect(try await pipeline.waitForInbox(count: 300) == keys)
            #expect(try await pipeline.deadLetters() == 0)
        }
    }

    @Test func poisonEntriesEndInTheDeadLetterStream() async throws {
        try await PipelineHarness.run { pipeline in
            try await pipeline.startConsumer("c1", ["SMTP_MOCK_CLAIM_IDLE_MS": "100"])
            // Undecodable: dead-lettered at once.
            try await pipeline.redis.xadd(pipeline.stream, fields: [("garbage", "yes")])
            // Never deliverable: a consumer that always fails, with two deliveries allowed.
            try await pipeline.startConsumer(
                "c2",
                ["SMTP_MOCK_FAILURE_RATE": "1", "SMTP_MOCK_CLAIM_IDLE_MS": "100", "SMTP_MOCK_MAX_DELIVERIES": "2"]
            )
            pipeline.kill(consumer: "c1")
            let entry = MailStreamEntry(
                messageID: "0",
                idempotencyKey: UUID().uuidString,
                topic: "t",
                to: "poison@example.com",
                subject: "s",
                body: "b",
                createdAt: Date()
            )
            try await pipeline.redis.xadd(pipeline.stream, fields: entry.fields)
            let deadline = ContinuousClock.now + .seconds(30)
            while try await pipeline.deadLetters() < 2 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(100)) }
            #expect(try await pipeline.deadLetters() == 2)
            let dead = try await pipeline.redis.send(RedisCommand("XRANGE", "\(pipeline.stream):dead", "-", "+"))
            let reasons = (dead.array ?? []).compactMap { try? RedisStreamEntry($0) }.compactMap { $0["dead_reason"].map { String(buffer: $0) } }
            #expect(reasons.contains("malformed entry"))
            #expect(reasons.contains { $0.hasPrefix("delivered 3 times") })
            #expect(try await pipeline.inboxIDs().isEmpty)
            #expect(try await pipeline.redis.xpending(pipeline.stream, group: "smtp-mock", count: 10).isEmpty)
        }
    }

    /// While Redis is unreachable the mailer claims nothing: rows wait in Postgres without
    /// spending attempts, and everything drains once Redis is back.
    @Test func redisDownMeansRowsWaitThenEverythingDrains() async throws {
        let redis = try RedisServerProcess()
        try await PipelineHarness.run(redisURL: "redis://127.0.0.1:\(redis.port)/0") { pipeline in
            try await pipeline.startConsumer("c1", ["SMTP_MOCK_CLAIM_IDLE_MS": "500"])
            try await pipeline.startMailer(
                "m1",
                ["MAILER_BACKOFF_BASE_MS": "50", "MAILER_BACKOFF_MAX_SECONDS": "1", "MAILER_POLL_INTERVAL_MS": "100", "MAILER_MAX_ATTEMPTS": "2"]
            )
            redis.stop()
            let keys = try await pipeline.insert(100)
            try await Task.sleep(for: .seconds(3))  // many polls with Redis down
            let rows = try await pipeline.postgres.query(
                "SELECT count(*)::int FROM outbox WHERE status = 'pending' AND attempts = 0",
                logger: pipeline.logger
            )
            for try await count in rows.decode(Int.self) { #expect(count == 100, "nothing claimed, no attempt spent") }
            try redis.start()
            #expect(try await pipeline.waitForInbox(count: 100) == keys)
            #expect(try await pipeline.waitForSettledOutbox() == ["dispatched": 100])
        }
    }

    /// A publish that Redis refuses (here: an ACL that forbids XADD) is retried with backoff and
    /// ends as `failed` after MAILER_MAX_ATTEMPTS, with the reply recorded.
    @Test func rowsThatExhaustTheirAttemptsAreFailed() async throws {
        let redis = try RedisServerProcess()
        let admin = RedisClient(configuration: redis.configuration(), logger: TestEnvironment.logger("acl"))
        _ = try await admin.send(RedisCommand("ACL", "SETUSER", "noxadd", "on", ">secret-password", "~*", "&*", "+@all", "-xadd"))
        await admin.shutdown()
        try await PipelineHarness.run { pipeline in
            let mailer = try ServiceProcess(
                product: "mailer",
                environment: [
                    "HTTP_PORT": String(try RedisServerProcess.freePort()), "DATABASE_URL": pipeline.databaseURL,
                    "REDIS_URL": "redis://noxadd:secret-password@127.0.0.1:\(redis.port)/0", "MAIL_STREAM": pipeline.stream,
                    "MAILER_MAX_ATTEMPTS": "3", "MAILER_BACKOFF_BASE_MS": "10", "MAILER_POLL_INTERVAL_MS": "50",
                ]
            )
            defer { _ = mailer.terminate() }
            try await pipeline.insert(5)
            #expect(try await pipeline.waitForSettledOutbox(timeout: .seconds(30)) == ["failed": 5])
            let rows = try await pipeline.postgres.query("SELECT attempts, last_error FROM outbox", logger: pipeline.logger)
            var seen = 0
            for try await (attempts, error) in rows.decode((Int, String?).self) {
                seen += 1
                #expect(attempts == 3)
                #expect(error?.contains("NOPERM") == true)
            }
            #expect(seen == 5)
        }
    }

    @Test func expiredMessagesAreNotSentLate() async throws {
        try await PipelineHarness.run { pipeline in
            try await pipeline.startConsumer("c1")
            try await pipeline.insert(3, expiresIn: .milliseconds(-1000))
            let fresh = try await pipeline.insert(2)
            try await pipeline.startMailer("m1")
            #expect(try await pipeline.waitForSettledOutbox() == ["expired": 3, "dispatched": 2])
            #expect(try await pipeline.waitForInbox(count: 2) == fresh)
        }
    }

    /// LISTEN goes where DATABASE_LISTEN_URL says (behind a transaction pooler the pool cannot
    /// LISTEN): pointed at nothing, NOTIFY wakes nothing and only the poll delivers; pointed at
    /// Postgres while the pool uses DATABASE_URL, wake-ups are immediate.
    @Test func listenUsesDatabaseListenURL() async throws {
        try await PipelineHarness.run { pipeline in
            try await pipeline.startConsumer("c1")
            let nowhere = "postgresql://app:app@127.0.0.1:\(try RedisServerProcess.freePort())/app"
            try await pipeline.startMailer("deaf", ["MAILER_POLL_INTERVAL_MS": "600000", "DATABASE_LISTEN_URL": nowhere])
            try await Task.sleep(for: .seconds(1))
            try await pipeline.insert(1)
            #expect(try await pipeline.waitForInbox(count: 1, timeout: .seconds(3)).isEmpty, "no LISTEN: NOTIFY woke nothing")
            try await pipeline.startMailer("hearing", ["MAILER_POLL_INTERVAL_MS": "600000", "DATABASE_LISTEN_URL": pipeline.databaseURL])
            try await Task.sleep(for: .seconds(1))
            let keys = try await pipeline.insert(1)
            let delivered = try await pipeline.waitForInbox(count: 2, timeout: .seconds(5))
            #expect(keys.isSubset(of: delivered), "LISTEN on DATABASE_LISTEN_URL: delivered at once")
        }
    }

    @Test func anIdleMailerWakesOnNotifyNotOnlyOnItsPoll() async throws {
        try await PipelineHarness.run { pipeline in
            try await pipeline.startConsumer("c1")
            try await pipeline.startMailer("m1", ["MAILER_POLL_INTERVAL_MS": "600000"])
            try await Task.sleep(for: .seconds(1))  // past its first poll and LISTEN
            let keys = try await pipeline.insert(1)
            // The next poll is ten minutes away: only NOTIFY can deliver this in time.
            #expect(try await pipeline.waitForInbox(count: 1, timeout: .seconds(5)) == keys)
        }
    }
}
