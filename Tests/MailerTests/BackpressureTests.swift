import Common
import Foundation
import PostgresNIO
import TestSupport
import Testing

/// The stream is never trimmed: with the consumers down, the mailer stops publishing at
/// MAIL_STREAM_MAX_BACKLOG and the rest waits in the outbox; everything arrives once after.
@Suite(.serialized, .timeLimit(.minutes(3))) struct BackpressureTests {
    @Test func aConsumerOutagePastTheBoundLosesNothing() async throws {
        try await PipelineHarness.run { pipeline in
            try await pipeline.startMailer("m1", ["MAIL_STREAM_MAX_BACKLOG": "100", "MAILER_BATCH_SIZE": "30", "MAILER_POLL_INTERVAL_MS": "50"])
            let keys = try await pipeline.insert(400)
            // No consumer: the stream fills to its bound, and no further.
            var length = 0
            let deadline = ContinuousClock.now + .seconds(20)
            while length < 100 && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
                length = try await pipeline.redis.xlen(pipeline.stream)
            }
            try await Task.sleep(for: .milliseconds(500))
            #expect(try await pipeline.redis.xlen(pipeline.stream) == 100, "published up to the bound, nothing trimmed")
            let statuses = try await pipeline.statuses()
            #expect(statuses["dispatched", default: 0] == 100)
            #expect(statuses["pending", default: 0] + statuses["processing", default: 0] == 300, "the rest waits in Postgres")

            try await pipeline.startConsumer("c1")
            #expect(try await pipeline.waitForInbox(count: 400) == keys, "every message once")
            #expect(try await pipeline.waitForSettledOutbox() == ["dispatched": 400])
            #expect(try await pipeline.deadLetters() == 0)
        }
    }
}
