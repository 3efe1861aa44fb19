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
            let metricsPort = try await pipeline.startMailer(
                "m1",
                ["MAIL_STREAM_MAX_BACKLOG": "100", "MAILER_BATCH_SIZE": "30", "MAILER_POLL_INTERVAL_MS": "50"]
            )
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
            // The operator sees it: the stream's length and lag, and the pause (sampled every 2 s).
            let expected = ["mailer_backpressured 1", "mailer_stream_length 100", "mailer_stream_lag 0", "mailer_dead_letters 0"]
            func missing(_ metrics: String) -> [String] {
                expected.filter { line in !metrics.split(separator: "\n").contains { $0 == line || $0.hasPrefix(line + ".") } }
            }
            var metrics = ""
            let sampled = ContinuousClock.now + .seconds(10)
            repeat {
                try await Task.sleep(for: .milliseconds(200))
                metrics = try await ServiceProcess.get("http://127.0.0.1:\(metricsPort)/metrics").1
            } while !missing(metrics).isEmpty && ContinuousClock.now < sampled
            #expect(missing(metrics).isEmpty, "missing from /metrics: \(missing(metrics))")

            try await pipeline.startConsumer("c1")
            #expect(try await pipeline.waitForInbox(count: 400) == keys, "every message once")
            #expect(try await pipeline.waitForSettledOutbox() == ["dispatched": 400])
            #expect(try await pipeline.deadLetters() == 0)
        }
    }
}
