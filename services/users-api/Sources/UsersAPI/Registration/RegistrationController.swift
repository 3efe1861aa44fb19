import Common
import Foundation
import Hummingbird
import Logging
import PostgresNIO

/// `POST /v1/users`: register a pending user and email a code — or, for an address that is already
/// active, leave it untouched and email its owner; both answer 202 so accounts cannot be enumerated.
struct RegistrationController: Sendable {
    let users: UserStore
    let outbox: OutboxWriter
    let codes: ActivationCodeStore
    let hasher: PasswordHasher
    let passwords: PasswordPolicy

    func addRoutes(to router: Router<RegistrarRequestContext>) {
        // The router ignores a trailing slash: this also serves the seed's `POST /v1/users/`.
        router.post("/v1/users", use: self.register)
    }

    @Sendable func register(_ request: Request, context: RegistrarRequestContext) async throws -> Response {
        var body = try await JSONBody.parse(request, context: context)
        let email = body.string("email").map(EmailAddress.normalize)
        let password = body.string("password")
        if let email, let problem = EmailAddress.problem(email) { body.reject("email", problem) }
        if let password, let problem = self.passwords.problem(password) { body.reject("password", problem) }
        try body.finish()
        guard let email, let password else { throw ProblemDetails.internalError }

        if let retryAfter = try await self.codes.acquireThrottle(email: email) {
            throw ProblemDetails.tooManyRequests(
                code: "registration_throttled",
                title: "Too many requests",
                detail: "A code was sent to this address recently; wait before asking again.",
                retryAfter: retryAfter
            )
        }
        do {
            // Hashed even for an active account, so both paths take the same time.
            let hash = try await self.hasher.hash(password)
            try await self.users.transaction(logger: context.logger) { connection in
                let user = try await self.users.upsertPending(email: email, passwordHash: hash, on: connection)
                try await self.sendMail(to: user, on: connection)
            }
        } catch {
            await self.codes.releaseThrottle(email: email)
            throw error
        }
        context.logger.info("registration accepted")
        return try Accepted().response(status: .accepted, from: request, context: context)
    }

    /// Inside the registration transaction: a code (stored in Redis before the row commits, so no
    /// mail ever carries a code that cannot be verified) or the "already registered" notice.
    func sendMail(to user: User, on connection: PostgresConnection) async throws {
        switch user.status {
        case .active:
            try await self.outbox.enqueue(
                topic: OutboxTopic.alreadyRegistered,
                payload: MailTemplates.alreadyRegistered(to: user.email),
                expiresAt: nil,
                on: connection
            )
        case .pending:
            let code = try await self.codes.issue(userID: user.id)
            try await self.outbox.enqueue(
                topic: OutboxTopic.verificationCode,
                payload: MailTemplates.verificationCode(to: user.email, code: code),
                expiresAt: Date().addingTimeInterval(Double(self.codes.codeTTL.wholeMilliseconds) / 1000),
                on: connection
            )
        }
    }
}

/// `{"status":"accepted"}`, the seed's 202 body.
struct Accepted: ResponseEncodable {
    var status = "accepted"
}

/// `{"status":"ok"}`, the seed's activation body.
struct OK: ResponseEncodable {
    var status = "ok"
}

extension ResponseEncodable {
    /// Encodes with the context's encoder and sets `status`.
    func response(status: HTTPResponse.Status, from request: Request, context: some RequestContext) throws -> Response {
        var response = try self.response(from: request, context: context)
        response.status = status
        return response
    }
}
