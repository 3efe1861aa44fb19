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
            // v1 rows (before templates) and v2 rows (with `data`) are both claimed and decoded.
            let fixtures = try (Contracts.load("outbox/v1") + Contracts.load("outbox/v2")).map(\.fixture)
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
                let expected = try JSONDecoder().decode(OutboxPayload.self, from: try JSONSerialization.data(withJSONObject: fixture["payload"]!))
                #expect(row.payload == expected)
                #expect((row.expiresAt != nil) == (fixture["expires"] as? Bool), "mails with a code expire, notices do not")
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
            let composer = MailComposer(
                from: try #require(MailAddress("Registrar <no-reply@registrar.local>")),
                templates: try MailTemplates(directories: [try #require(MailTemplates.builtInDirectory)])
            )
            let mail = try composer.compose(row)
            let published = mail.streamEntry.fields.map { [$0.0, String(decoding: $0.1.redisArgument, as: UTF8.self)] }
            // The v1 fields, unchanged, then the whole message (`raw`, added for SMTP-shaped inboxes).
            #expect(Array(published.dropLast()) == (fixture["fields"] as? [[String]]), "\(name)")
            #expect(published.last?.first == "raw")
            #expect(mail.raw.contains("Message-ID: <3f2a1b0c-9d8e-4f7a-8b6c-5d4e3f2a1b0c@registrar.local>\r\n"))
        }
    }
}
