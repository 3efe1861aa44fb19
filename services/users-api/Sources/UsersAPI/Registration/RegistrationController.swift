import Common
import Foundation
import Hummingbird
import Logging
import PostgresNIO

/// `POST /v1/users`: register a pending user and email a code — or, for an address that is already
/// active, leave it untouched and email its owner; both answer 202 so accounts cannot be enumerated.
///
/// Before anything is looked up (so the answer is the same for a new, pending or active address):
/// the client's registration budget, the address's resend throttle and the mail limits. A pending
/// address registered again keeps its password: the new one travels with the new code only.
struct RegistrationController: Sendable {
    let users: UserStore
    let mailer: VerificationMailer
    let codes: CodeStore
    let hasher: PasswordHasher
    let passwords: PasswordPolicy
    let limits: FixedWindowLimits
    /// `REGISTRATION_MAX_PER_ADDRESS` per `REGISTRATION_WINDOW_SECONDS`, per client address.
    let maxPerClient: Int
    let clientWindow: Duration
    let proxies: TrustedProxies

    func addRoutes(to router: Router<RegistrarRequestContext>) {
        // The router ignores a trailing slash: this also serves the original `POST /v1/users/`.
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

        let client = context.clientAddress(of: request, trusting: self.proxies)
        let language = LanguagePreference(acceptLanguage: request.headers[.acceptLanguage])
        let perClient = FixedWindowLimits.Counter(
            key: "registrar:registrations:client:\(LimitKey.client(client))",
            limit: self.maxPerClient,
            window: self.clientWindow
        )
        try await self.limits.withReservation([perClient], refusal: Self.tooManyRegistrations) {
            try await self.codes.withThrottle(email: email, refusal: Self.throttled) {
                try await self.mailer.withReservation(to: email) {
                    // Hashed even for an active account, so every path takes the same time.
                    let hash = try await self.hasher.hash(password)
                    let key = UUID()
                    try await self.users.transaction(logger: context.logger, outboxKey: key) { connection in
                        let (user, created) = try await self.users.register(email: email, passwordHash: hash, on: connection)
                        try await self.mailer.send(to: user, passwordHash: created ? nil : hash, key: key, language: language, on: connection)
                    }
                }
            }
        }
        context.logger.info("registration accepted")
        return try Accepted().response(status: .accepted, from: request, context: context)
    }

    static func throttled(_ retryAfter: Duration) -> ProblemDetails {
        .tooManyRequests(
            code: "registration_throttled",
            title: "Too many requests",
            detail: "A code was sent to this address recently; wait before asking again.",
            retryAfter: retryAfter
        )
    }

    static func tooManyRegistrations(_ exceeded: FixedWindowLimits.Exceeded) -> ProblemDetails {
        .tooManyRequests(
            code: "too_many_registrations",
            title: "Too many registrations",
            detail: "Too many registrations from this address; try again later.",
            retryAfter: exceeded.retryAfter
        )
    }
}
