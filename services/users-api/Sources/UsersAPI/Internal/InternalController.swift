import Common
import Foundation
import Hummingbird

/// users-api's internal API for auth-api (the contract types are in Common's `InternalAPI`).
/// Not routed by the edge; guarded by `INTERNAL_API_TOKEN`.
struct InternalController: Sendable {
    let users: UserStore
    let authenticator: Authenticator
    let account: AccountController
    let token: String

    func addRoutes(to router: Router<RegistrarRequestContext>) {
        let group = router.group("/internal/v1").add(middleware: InternalTokenMiddleware(token: self.token))
        group.post("/credentials/verify", use: self.verifyCredentials)
        group.get("/users/:id", use: self.user)
        self.account.addRoutes(to: group)
    }

    @Sendable func verifyCredentials(_ request: Request, context: RegistrarRequestContext) async throws -> VerifiedCredentials {
        var body = try await JSONBody.parse(request, context: context)
        let email = body.string("email")
        let password = body.string("password")
        let client = body.optionalString("client_address")
        if let client, !(1...64).contains(client.utf8.count) { body.reject("client_address", "must be 1 to 64 characters") }
        try body.finish()
        guard let email, let password else { throw ProblemDetails.internalError }
        // auth-api is authenticated by the internal token: its word on the client's address is trusted.
        let user = try await self.authenticator.authenticate(email: email, password: password, client: client ?? context.remoteAddress ?? "unknown")
        return VerifiedCredentials(
            id: user.id,
            email: user.email,
            status: user.status,
            createdAt: user.createdAt,
            activatedAt: user.activatedAt,
            securityStamp: user.securityStamp
        )
    }

    @Sendable func user(_ request: Request, context: RegistrarRequestContext) async throws -> UserProfile {
        guard let id = context.parameters.get("id").flatMap(UUID.init(uuidString:)), let user = try await self.users.find(id: id) else {
            throw ProblemDetails(status: .notFound, code: "user_not_found", title: "User not found")
        }
        return user.profile
    }
}

/// Requires `Authorization: Bearer <INTERNAL_API_TOKEN>`, compared in constant time.
struct InternalTokenMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let presented = request.headers[.authorization].flatMap { header -> Substring? in
            header.hasPrefix("Bearer ") ? header.dropFirst("Bearer ".count) : nil
        }
        guard let presented, constantTimeEquals(Array(presented.utf8), Array(self.token.utf8)) else {
            var headers = HTTPFields()
            headers[.wwwAuthenticate] = "Bearer realm=\"registrar-internal\""
            throw ProblemDetails(
                status: .unauthorized,
                code: "invalid_internal_token",
                title: "Invalid internal token",
                headers: headers
            )
        }
        return try await next(request, context)
    }
}

extension VerifiedCredentials: ResponseEncodable {}
extension UserProfile: ResponseEncodable {}
