import Common
import Foundation
import Hummingbird
import Logging
import PostgresNIO

/// `POST /v1/users/activate` (Basic + code) and `POST /v1/users/activate/resend` (Basic).
///
/// Both check a password, so both spend the shared credential budget (``CredentialGuard``): over
/// it they answer 429 before anything about the account is revealed.
struct ActivationController: Sendable {
    let users: UserStore
    let codes: CodeStore
    let authenticator: Authenticator
    let mailer: VerificationMailer
    let proxies: TrustedProxies

    func addRoutes(to router: Router<RegistrarRequestContext>) {
        router.post("/v1/users/activate", use: self.activate)
        router.post("/v1/users/activate/resend", use: self.resend)
    }

    @Sendable func activate(_ request: Request, context: RegistrarRequestContext) async throws -> Response {
        let credentials = try BasicCredentials(headers: request.headers)
        var body = try await JSONBody.parse(request, context: context)
        let code = body.string("code")
        if let code, code.count != self.codes.codeLength || !code.unicodeScalars.allSatisfy({ ("0"..."9").contains($0) }) {
            body.reject("code", "must be a string of exactly \(self.codes.codeLength) digits")
        }
        try body.finish()
        guard let code else { throw ProblemDetails.internalError }

        // The password is checked against the one the code was issued with: the account's own, or
        // the one a later registration of the pending address chose (it takes effect now).
        let (user, match) = try await self.authenticator.authenticate(
            email: credentials.username,
            password: credentials.password,
            client: context.clientAddress(of: request, trusting: self.proxies)
        ) { user -> (hash: String, found: CodeStore.Match?) in
            guard user.status == .pending, let match = try await self.codes.match(owner: CodeStore.owner(user.id), code: code) else {
                return (user.passwordHash, nil)
            }
            return (match.binding ?? user.passwordHash, match)
        }
        guard user.status == .pending else { throw Self.alreadyActive }

        switch try await self.codes.check(owner: CodeStore.owner(user.id), match: match) {
        case .accepted:
            guard try await self.users.activate(id: user.id, passwordHash: match?.binding) else { throw Self.alreadyActive }
            context.logger.info("user activated", metadata: ["user.id": .stringConvertible(user.id)])
            return try OK().response(from: request, context: context)
        case .invalid, .mismatch:
            throw ProblemDetails(
                status: .badRequest,
                code: "invalid_activation_code",
                title: "Invalid activation code",
                detail: "The code is wrong, expired or already used."
            )
        case .burned:
            throw ProblemDetails.tooManyRequests(
                code: "too_many_attempts",
                title: "Too many attempts",
                detail: "This code had too many wrong attempts and no longer works: request a new code (POST /v1/users/activate/resend).",
                retryAfter: nil
            )
        case .budgetExhausted(let retryAfter):
            throw ProblemDetails.tooManyRequests(
                code: "too_many_failures",
                title: "Too many failed activations",
                detail: "This account has had too many wrong codes; try again later.",
                retryAfter: retryAfter
            )
        }
    }

    @Sendable func resend(_ request: Request, context: RegistrarRequestContext) async throws -> Response {
        let credentials = try BasicCredentials(headers: request.headers)
        let user = try await self.authenticator.authenticate(
            email: credentials.username,
            password: credentials.password,
            client: context.clientAddress(of: request, trusting: self.proxies)
        )
        guard user.status == .pending else { throw Self.alreadyActive }
        let refusal = { (retryAfter: Duration) in
            ProblemDetails.tooManyRequests(
                code: "resend_throttled",
                title: "Too many requests",
                detail: "A code was sent recently; wait before asking for another.",
                retryAfter: retryAfter
            )
        }
        try await self.codes.withThrottle(email: user.email, refusal: refusal) {
            try await self.mailer.withReservation(to: user.email) {
                let key = UUID()
                try await self.users.transaction(logger: context.logger, outboxKey: key) { connection in
                    try await self.users.touch(id: user.id, on: connection)
                    try await self.mailer.send(
                        to: user,
                        key: key,
                        language: LanguagePreference(acceptLanguage: request.headers[.acceptLanguage]),
                        on: connection
                    )
                }
            }
        }
        return try Accepted().response(status: .accepted, from: request, context: context)
    }

    static let alreadyActive = ProblemDetails(
        status: .conflict,
        code: "user_already_active",
        title: "User already active",
        detail: "This account is already active: log in instead."
    )
}
