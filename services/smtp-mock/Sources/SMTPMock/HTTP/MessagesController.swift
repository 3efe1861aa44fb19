import Common
import HTTPTypes
import Hummingbird

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The mock's HTTP API: read and clear the inbox, and the seed's third-party `POST /send`.
struct MessagesController: Sendable {
    let inbox: Inbox
    let postman: Postman

    func addRoutes(to router: Router<RegistrarRequestContext>) {
        router.get("/messages", use: self.list)
        router.get("/messages/:id", use: self.message)
        router.get("/messages/:id/raw", use: self.raw)
        router.delete("/messages", use: self.clear)
        router.post("/send", use: self.send)
    }

    @Sendable func list(_ request: Request, context: RegistrarRequestContext) async throws -> [InboxMessage] {
        let limitText = request.uri.queryParameters.get("limit")
        let limit = limitText.flatMap(Int.init) ?? 50
        guard (1...1000).contains(limit), limitText == nil || Int(limitText!) != nil else {
            throw ProblemDetails.validation([.init(field: "limit", message: "must be an integer from 1 to 1000")])
        }
        return try await self.inbox.list(to: request.uri.queryParameters.get("to"), limit: limit)
    }

    @Sendable func message(_ request: Request, context: RegistrarRequestContext) async throws -> InboxMessage {
        guard let id = context.parameters.get("id"), let message = try await self.inbox.message(id: id) else {
            throw ProblemDetails(status: .notFound, code: "message_not_found", title: "Message not found")
        }
        return message
    }

    /// The RFC 5322 source, as received.
    @Sendable func raw(_ request: Request, context: RegistrarRequestContext) async throws -> Response {
        let message = try await self.message(request, context: context)
        return Response(
            status: .ok,
            headers: [.contentType: "message/rfc822", .contentDisposition: "inline; filename=\"message.eml\""],
            body: .init(byteBuffer: ByteBuffer(string: message.raw))
        )
    }

    @Sendable func clear(_ request: Request, context: RegistrarRequestContext) async throws -> HTTPResponse.Status {
        try await self.inbox.clear()
        return .noContent
    }

    @Sendable func send(_ request: Request, context: RegistrarRequestContext) async throws -> Response {
        var body = try await JSONBody.parse(request, context: context)
        let to = body.string("to")
        let subject = body.string("subject")
        let text = body.string("body")
        if let to, to.isEmpty || to.count > 254 { body.reject("to", "must be an address of 1 to 254 characters") }
        let key = request.headers[.idempotencyKey]
        if let key, !(1...200).contains(key.count) || key.contains(":") { body.reject("Idempotency-Key", "must be 1 to 200 characters without ':'") }
        try body.finish()
        guard let to, let subject, let text else { throw ProblemDetails.internalError }
        let id = key ?? UUID().uuidString.lowercased()
        try await self.postman.deliver(InboxMessage(id: id, to: to, subject: subject, body: text, receivedAt: Date()))
        var response = try SendAccepted(id: id).response(from: request, context: context)
        response.status = .accepted
        return response
    }
}

struct SendAccepted: ResponseEncodable {
    var id: String
    var status = "accepted"
}

extension InboxMessage: ResponseEncodable {}

extension HTTPField.Name {
    static let idempotencyKey = Self("Idempotency-Key")!
}
