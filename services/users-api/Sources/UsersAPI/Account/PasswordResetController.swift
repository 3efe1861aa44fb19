import Common
import Foundation
import Hummingbird
import Logging

/// `POST /v1/users/password/forgot` and `POST /v1/users/password/reset`: a forgotten password.
///
/// `forgot` answers 202 for every well-formed address, after the same work for each: the client's
/// budget, the address's throttle and mail limits, one account lookup, one code stored in Redis
/// (keyed by the address's digest) and one outbox row, which is sent only when the address has an
/// active account (otherwise it is written `cancelled`, so Postgres does the same write and
/// flush). Unknown, pending and active addresses cannot be told apart by status, body, headers or
/// time.
///
/// `reset` consumes the code (`RESET_CODE_LENGTH` digits, single use, `CODE_ATTEMPTS` tries, the
/// address's failure budget), sets the new password (the policy applies), mails the owner a
/// notice, ends every session and voids every other code of the account.
struct PasswordResetController: Sendable {
    let users: UserStore
    let resets: CodeStore
    let passwordWriter: PasswordWriter
    let mailer: VerificationMailer
    let hasher: PasswordHasher
    let passwords: PasswordPolicy
    let limits: FixedWindowLimits
    /// `REGISTRATION_MAX_PER_ADDRESS` per `REGISTRATION_WINDOW_SECONDS`, per client address (a
    /// budget of its own, beside the registrations').
    let maxPerClient: Int
    let clientWindow: Duration
    let proxies: TrustedProxies

    func addRoutes(to router: Router<RegistrarRequestContext>) {
        router.post("/v1/users/password/forgot", use: self.forgot)
        router.post("/v1/users/password/reset", use: self.reset)
    }

    @Sendable func forgot(_ request: Request, context: RegistrarRequestContext) async throws -> Response {
        var body = try await JSONBody.parse(request, context: context)
        let email = body.string("email").map(EmailAddress.normalize)
        if let email, let problem = EmailAddress.problem(email) { body.reject("email", problem) }
        try body.finish()
        guard let email else { throw ProblemDetails.internalError }

        let client = context.clientAddress(of: request, trusting: self.proxies)
        let language = LanguagePreference(acceptLanguage: request.headers[.acceptLanguage])
        let perClient = FixedWindowLimits.Counter(
            key: "registrar:password-forgot:client:\(LimitKey.client(client))",
            limit: self.maxPerClient,
            window: self.clientWindow
        )
        try await self.limits.withReservation([perClient], refusal: Self.tooManyRequests) {
            try await self.resets.withThrottle(email: email, refusal: Self.throttled) {
                // The mail reservation is kept for every address (giving it back only for unknown
                // ones would tell them apart).
                try await self.mailer.withReservation(to: email) {
                    let user = try await self.users.find(email: email)
                    let code = try await self.resets.issue(owner: CodeStore.owner(email: email))
                    let active = user?.status == .active
                    let key = UUID()
                    try await self.users.transaction(logger: context.logger, outboxKey: key) { connection in
                        try await self.mailer.enqueue(
                            active ? MailTemplates.passwordResetCode(to: user?.email ?? email, code: code) : MailTemplates.suppressed,
                            topic: OutboxTopic.passwordResetCode,
                            key: key,
                            expiresIn: self.resets.codeTTL,
                            language: language,
                            cancelled: !active,
                            on: connection
                        )
                    }
                }
            }
        }
        return try Accepted().response(status: .accepted, from: request, context: context)
    }

    @Sendable func reset(_ request: Request, context: RegistrarRequestContext) async throws -> Response {
        var body = try await JSONBody.parse(request, context: context)
        let email = body.string("email").map(EmailAddress.normalize)
        let code = body.string("code")
        let password = body.string("password")
        if let email, let problem = EmailAddress.problem(email) { body.reject("email", problem) }
        if let code, let problem = self.resets.codeProblem(code) { body.reject("code", problem) }
        if let password, let problem = self.passwords.problem(password) { body.reject("password", problem) }
        try body.finish()
        guard let email, let code, let password else { throw ProblemDetails.internalError }

        let owner = CodeStore.owner(email: email)
        // A wrong code is counted and refused before any bcrypt. A right one is consumed only once
        // the new password is hashed, so an overloaded bcrypt (503) leaves the code usable.
        guard let match = try await self.resets.match(owner: owner, code: code) else {
            try Self.require(try await self.resets.check(owner: owner, match: nil))
            throw Self.invalidCode
        }
        // The code was mailed to an active account; it may have been deleted or changed address
        // since (or it is the unsent code of an address without one): it is used up all the same.
        guard let user = try await self.users.find(email: email), user.status == .active else {
            _ = try await self.resets.check(owner: owner, match: match)
            throw Self.invalidCode
        }
        let hash = try await self.hasher.hash(password)
        try Self.require(try await self.resets.check(owner: owner, match: match))
        _ = try await self.passwordWriter.set(
            hash,
            for: user,
            language: LanguagePreference(acceptLanguage: request.headers[.acceptLanguage]),
            missing: Self.invalidCode,
            logger: context.logger
        )
        context.logger.info("password reset", metadata: ["user.id": .stringConvertible(user.id)])
        return try OK().response(from: request, context: context)
    }

    /// 400 `invalid_reset_code`, or 429, for a code check that did not succeed.
    static func require(_ check: CodeStore.Check) throws {
        switch check {
        case .accepted: return
        case .invalid, .mismatch: throw Self.invalidCode
        case .burned:
            throw ProblemDetails.tooManyRequests(
                code: "too_many_attempts",
                title: "Too many attempts",
                detail: "This code had too many wrong attempts and no longer works: request a new one.",
                retryAfter: nil
            )
        case .budgetExhausted(let retryAfter):
            throw ProblemDetails.tooManyRequests(
                code: "too_many_failures",
                title: "Too many failed attempts",
                detail: "Too many wrong codes for this address; try again later.",
                retryAfter: retryAfter
            )
        }
    }

    static let invalidCode = ProblemDetails(
        status: .badRequest,
        code: "invalid_reset_code",
        title: "Invalid reset code",
        detail: "The code is wrong, expired or already used, or the address has no active account."
    )

    static func throttled(_ retryAfter: Duration) -> ProblemDetails {
        .tooManyRequests(
            code: "reset_throttled",
            title: "Too many requests",
            detail: "A reset was requested for this address recently; wait before asking again.",
            retryAfter: retryAfter
        )
    }

    static func tooManyRequests(_ exceeded: FixedWindowLimits.Exceeded) -> ProblemDetails {
        .tooManyRequests(
            code: "too_many_reset_requests",
            title: "Too many reset requests",
            detail: "Too many password resets requested from this address; try again later.",
            retryAfter: exceeded.retryAfter
        )
    }
}

extension CodeStore {
    /// Why `code` cannot be one of these codes (digits only, ``codeLength`` of them), or nil.
    func codeProblem(_ code: String) -> String? {
        code.count != self.codeLength || !code.unicodeScalars.allSatisfy({ ("0"..."9").contains($0) })
            ? "must be a string of exactly \(self.codeLength) digits" : nil
    }
}
