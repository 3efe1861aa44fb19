import Common
import Foundation
import PostgresNIO
import TestSupport
import Testing

@testable import Mailer

/// The mailer as consumer of the outbox rows users-api writes, and as producer of stream entries.
@Suite(.timeLimit(.minutes(1))) struct ContractTests {
    @Test func theMailerClaimsAndDecodesTheContractedOutboxRows() async throws {
        try await PipelineHarness.run { pipeline in
            let fixtures = try Contracts.load("outbox/v1").map(\.fixture)
            for fixture in fixtures {
                let payload = String(decoding: try JSONSerialization.data(withJSONObject: fixture["payload"]!), as: UTF8.self)
                try await pipeline.postgres.query(
                    "INSERT INTO outbox (topic, payload) VALUES (\(fixture["topic"] as! String), \(payload)::jsonb)",
                    logger: pipeline.logger
                )
            }
            let repository = OutboxRepository(client: pipeline.postgres, logger: pipeline.logger, mailerID: "contract")
            let claimed = try await repository.claim(limit: 10, lease: .seconds(30), codeTTL: .seconds(60))
            #expect(claimed.count == fixtures.count)
            for (row, fixture) in zip(claimed.sorted { $0.id < $1.id }, fixtures) {
                #expect(row.topic == fixture["topic"] as? String)
                let expected = fixture["payload"] as! [String: String]
                #expect(row.payload == OutboxPayload(to: expected["to"]!, subject: expected["subject"]!, body: expected["body"]!))
                #expect((row.expiresAt != nil) == (fixture["expires"] as? Bool), "verification mails expire, notices do not")
            }
        }
    }

    @Test func theMailerPublishesTheContractedStreamEntry() throws {
        for (name, fixture) in try Contracts.load("mail-stream/v1") {
            let source = try #require(fixture["outbox"] as? [String: Any])
            let outbox = try Contracts.fixture(try #require(source["fixture"] as? String))
            let payload = try #require(outbox["payload"] as? [String: String])
            let row = OutboxRow(
                id: Int64(try #require(source["id"] as? Int)),
                idempotencyKey: try #require(UUID(uuidString: source["idempotency_key"] as? String ?? "")),
                topic: try #require(outbox["topic"] as? String),
                payload: OutboxPayload(to: payload["to"]!, subject: payload["subject"]!, body: payload["body"]!),
                createdAt: Date(timeIntervalSince1970: Double(try #require(source["created_at_ms"] as? Int)) / 1000),
                expiresAt: nil,
                attempts: 1
            )
            let published = row.streamEntry.fields.map { [$0.0, String(decoding: $0.1.redisArgument, as: UTF8.self)] }
            #expect(published == (fixture["fields"] as? [[String]]), "\(name)")
        }
    }
}
