import Common
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import SMTPMock
import TestSupport
import Testing

/// The SMTP mock as consumer of the stream entries the mailer publishes.
@Suite(.timeLimit(.minutes(1))) struct StreamConsumerContractTests {
    @Test func theContractedEntryIsDelivered() async throws {
        for (name, fixture) in try Contracts.load("mail-stream/v1") {
            let stream = "test:mail:\(UUID().uuidString.prefix(8))"
            let environment = TestEnvironment.reader([
                "REDIS_URL": try TestEnvironment.require("TEST_REDIS_URL"), "MAIL_STREAM": stream, "SMTP_MOCK_SMTP_PORT": "0",
            ])
            let logger = TestEnvironment.logger("smtp-mock-contract")
            let app = try await buildApplication(configuration: SMTPMockConfiguration(environment: environment), logger: logger)
            let redis = RedisClient(configuration: try TestEnvironment.redisConfiguration(), logger: logger)
            let fields = try #require(fixture["fields"] as? [[String]])
            let values = Dictionary(uniqueKeysWithValues: fields.map { ($0[0], $0[1]) })
            try await app.test(.router) { client in
                try await redis.xadd(stream, fields: fields.map { ($0[0], $0[1]) })
                var delivered: [[String: Any]] = []
                let deadline = ContinuousClock.now + .seconds(10)
                while delivered.isEmpty && ContinuousClock.now < deadline {
                    let response = try await client.execute(uri: "/messages?to=\(values["to"]!)", method: .get)
                    delivered = (try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [[String: Any]]) ?? []
                    if delivered.isEmpty { try await Task.sleep(for: .milliseconds(50)) }
                }
                let message = try #require(delivered.first, "\(name) delivered")
                #expect(message["id"] as? String == values["idempotency_key"])
                #expect(message["subject"] as? String == values["subject"])
                #expect(message["body"] as? String == values["body"])
                #expect(try await redis.send(RedisCommand("XLEN", "\(stream):dead")).int == 0)
            }
            await redis.shutdown()
        }
    }
}
