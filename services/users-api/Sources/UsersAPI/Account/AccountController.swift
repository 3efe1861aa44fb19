import Common
import Foundation
import Hummingbird
import Logging

/// users-api's side of the signed-in account routes (auth-api's `/v1/users/me/…`, which has
/// checked the session): password change, email change and its confirmation, deletion. Internal
/// routes, behind ``InternalTokenMiddleware``; the wire types are Common's `InternalAPI+account`.
///
/// Every route that takes a password checks it with the ``Authenticator``, so a wrong one counts
/// in the shared credential budget (429 `too_many_login_failures` once spent); a wrong password is
/// 403 `invalid_password` (the session is fine, so not a 401).
struct AccountController: Sendable {
    let users: UserStore
    let authenticator: Authenticator
    let emailChanges: CodeStore
    let effects: AccountEffects
    let passwordWriter: PasswordWriter
    let mailer: VerificationMailer
    let hasher: PasswordHasher
    let passwords: PasswordPolicy

    func addRoutes(to group: RouterGroup<RegistrarRequestContext>) {
        group.post("/users/:id/password", use: self.changePassword)
        group.post("/users/:id/email", use: self.changeEmail)
        group.post("/users/:id/email/confirm", use: self.confirmEmail)
        group.delete("/users/:id", use: self.delete)
    }

    @Sendable func changePassword(_ request: Request, context: RegistrarRequestContext) async throws -> HTTPResponse.Status {
        var body = try await JSONBody.parse(request, context: context)
        let current = body.string("current_password")
        let new = body.string("new_password")
        let client = body.string("client_address")
        let keep = body.optionalString("keep_session")
        if let new, let problem = self.passwords.problem(new) { body.reject("new_password", problem) }
        if let new, let current, new == current { body.reject("new_password", "must differ from the current password") }
        try body.finish()
        guard let current, let new, let client else { throw ProblemDetails.internalError }

        let user = try await self.verify(try await self.account(context), password: current, client: client)
        let hash = try await self.hasher.hash(new)
        _ = try await self.passwordWriter.set(
            hash,
            for: user,
            keeping: keep,
            language: LanguagePreference(acceptLanguage: request.headers[.acceptLanguage]),
            missing: Self.invalidPassword,  // it changed since it was checked
            logger: context.logger
        )
        context.logger.info("password changed", metadata: ["user.id": .stringConvertible(user.id)])
        return .noContent
    }

    @Sendable func changeEmail(_ request: Request, context: RegistrarRequestContext) async throws -> Response {
        var body = try await JSONBody.parse(request, context: context)
        let password = body.string("password")
        let newEmail = body.string("new_email").map(EmailAddress.normalize)
        let client = body.string("client_address")
        if let newEmail, let problem = EmailAddress.problem(newEmail) { body.reject("new_email", problem) }
        try body.finish()
        guard let password, let newEmail, let client else { throw ProblemDetails.internalError }

        let user = try await self.verify(try await self.account(context), password: password, client: client)
        guard newEmail.lowercased() != user.email.lowercased() else {
            throw ProblemDetails.validation([.init(field: "new_email", message: "is already this account's address")])
        }
        let refusal = { (retryAfter: Duration) in
            ProblemDetails.tooManyRequests(
                code: "email_change_throttled",
                title: "Too many requests",
                detail: "A confirmation code was sent recently; wait before asking for another.",
                retryAfter: retryAfter
            )
        }
        try await self.emailChanges.withThrottle(email: user.email, refusal: refusal) {
            // Mailed whether or not the address is taken: this answer never tells.
            try await self.mailer.withReservation(to: newEmail) {
                let code = try await self.emailChanges.issue(owner: CodeStore.owner(user.id), binding: newEmail)
                let key = UUID()
                try await self.users.transaction(logger: context.logger, outboxKey: key) { connection in
                    try await self.mailer.enqueue(
                        MailTemplates.emailChangeCode(to: newEmail, code: code),
                        topic: OutboxTopic.emailChangeCode,
                        key: key,
                        expiresIn: self.emailChanges.codeTTL,
                        language: LanguagePreference(acceptLanguage: request.headers[.acceptLanguage]),
                        on: connection
                    )
                }
            }
        }
        return try Accepted().response(status: .accepted, from: request, context: context)
    }

    @Sendable func confirmEmail(_ request: Request, context: RegistrarRequestContext) async throws -> UserProfile {
        var body = try await JSONBody.parse(request, context: context)
        let code = body.string("code")
        let keep = body.optionalString("keep_session")
        if let code, let problem = self.emailChanges.codeProblem(code) { body.reject("code", problem) }
        try body.finish()
        guard let code else { throw ProblemDetails.internalError }

        let user = try await self.account(context)
        let owner = CodeStore.owner(user.id)
        let match = try await self.emailChanges.match(owner: owner, code: code)
        switch try await self.emailChanges.check(owner: owner, match: match) {
        case .accepted: break
        case .invalid, .mismatch:
            throw ProblemDetails(
                status: .badRequest,
                code: "invalid_code",
                title: "Invalid confirmation code",
                detail: "The code is wrong, expired or already used."
            )
        case let other: try PasswordResetController.require(other)
        }
        guard let newEmail = match?.binding else { throw ProblemDetails.internalError }
        try await self.effects.beforeChange(of: user, keeping: keep)
        let key = UUID()
        let updated: User
        do {
            updated = try await self.users.transaction(logger: context.logger, outboxKey: key) { connection -> User in
                guard let updated = try await self.users.setEmail(of: user, to: newEmail, on: connection) else { throw Self.changedMeanwhile }
                try await self.mailer.enqueue(
                    MailTemplates.emailChanged(to: user.email),
                    topic: OutboxTopic.emailChanged,
                    key: key,
                    language: LanguagePreference(acceptLanguage: request.headers[.acceptLanguage]),
                    on: connection
                )
                return updated
            }
        } catch is EmailTaken {
            throw ProblemDetails(
                status: .conflict,
                code: "email_taken",
                title: "Address taken",
                detail: "Another account uses this address now; nothing was changed."
            )
        }
        await self.effects.emailChanged(updated, from: user.email, keeping: keep, logger: context.logger)
        context.logger.info("email changed", metadata: ["user.id": .stringConvertible(user.id)])
        return updated.profile
    }

    @Sendable func delete(_ request: Request, context: RegistrarRequestContext) async throws -> HTTPResponse.Status {
        var body = try await JSONBody.parse(request, context: context)
        let password = body.string("password")
        let client = body.string("client_address")
        try body.finish()
        guard let password, let client else { throw ProblemDetails.internalError }

        let user = try await self.verify(try await self.account(context), password: password, client: client)
        try await self.effects.beforeChange(of: user)
        let key = UUID()
        try await self.users.transaction(logger: context.logger, outboxKey: key) { connection in
            guard try await self.users.delete(user, on: connection) else { throw Self.invalidPassword }  // it changed since it was checked
            try await self.mailer.enqueue(
                MailTemplates.accountDeleted(to: user.email),
                topic: OutboxTopic.accountDeleted,
                key: key,
                language: LanguagePreference(acceptLanguage: request.headers[.acceptLanguage]),
                on: connection
            )
        }
        await self.effects.deleted(user, logger: context.logger)
        context.logger.info("account deleted", metadata: ["user.id": .stringConvertible(user.id)])
        return .noContent
    }

    /// The account of the path's `:id`, or 404 `user_not_found`.
    private func account(_ context: RegistrarRequestContext) async throws -> User {
        guard let id = context.parameters.get("id").flatMap(UUID.init(uuidString:)), let user = try await self.users.find(id: id) else {
            throw Self.notFound
        }
        return user
    }

    /// `user`, once `password` is proven for it; 403 `invalid_password` otherwise.
    private func verify(_ user: User, password: String, client: String) async throws -> User {
        do {
            let verified = try await self.authenticator.authenticate(email: user.email, password: password, client: client)
            guard verified.id == user.id else { throw Self.invalidPassword }
            return verified
        } catch let problem as ProblemDetails where problem.code == "invalid_credentials" {
            throw Self.invalidPassword
        }
    }

    static let notFound = ProblemDetails(status: .notFound, code: "user_not_found", title: "User not found")

    static let changedMeanwhile = ProblemDetails(
        status: .conflict,
        code: "account_changed",
        title: "Account changed",
        detail: "The account's password or address changed while this request ran; nothing was changed. Ask for a new code."
    )

    static let invalidPassword = ProblemDetails(
        status: .forbidden,
        code: "invalid_password",
        title: "Wrong password",
        detail: "The password is incorrect."
    )
}
