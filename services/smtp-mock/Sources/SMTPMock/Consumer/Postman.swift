import Common
import Logging

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Delivers mail into the inbox and logs one line per delivered mail in the seed's style
/// (`SMTP-MOCK send to=… subject=… body='…'`): the only place in Registrar that logs mail bodies.
struct Postman: Sendable {
    let inbox: Inbox
    let metrics: SMTPMockMetrics
    let logger: Logger

    /// Stores `message`; returns whether it was new (false for a duplicate).
    @discardableResult
    func deliver(_ message: InboxMessage) async throws -> Bool {
        let new = try await self.inbox.store(message)
        self.metrics.recordDelivery(new: new)
        if new {
            self.logger.info(
                "SMTP-MOCK send to=\(message.to) subject=\(message.subject) body='\(message.body)'",
                metadata: ["mail.id": .string(message.id)]
            )
        } else {
            self.logger.debug("duplicate ignored", metadata: ["mail.id": .string(message.id)])
        }
        return new
    }
}
