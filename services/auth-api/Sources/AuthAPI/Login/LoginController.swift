import Common
import HTTPTypes
import Hummingbird
import Logging

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `POST /v1/users/login`: Basic credentials (checked by users-api, once) → an opaque Bearer token.
struct LoginController: Sendable {
    let users: UsersAPIClient
    let sessions: SessionStore
    let throttle: LoginThrottle

    func addRoutes(to router: Router<RegistrarRequestContext>) {
        router.post("/v1/users/login", use: self.login)
    }

    struct LoginResponse: ResponseEncodable {
        var token: String
        var tokenType = "Bearer"
        var expiresIn: Int

        enum CodingKeys: String, CodingKey {
            case token
            case tokenType = "token_type"
            case expiresIn = "expires_in"
        }
    }

    @Sendable func login(_ request: Request, context: RegistrarRequestContext) async throws -> Response {
        let credentials = try BasicCredentials(headers: request.headers)
        let email = EmailAddress.normalize(credentials.username)
        let address = ClientAddress.of(request, context: context)
        if let retryAfter = try await self.throttle.retryAfter(email: email, address: address) {
            throw ProblemDetails.tooManyRequests(
                code: "too_many_login_failures",
                title: "Too many failed logins",
                detail: "Too many failed logins for this account or address; try again later.",
                retryAfter: retryAfter
            )
        }
        guard let account = try await self.users.verify(email: credentials.username, password: credentials.password, logger: context.logger) else {
            try await self.throttle.recordFailure(email: email, address: address)
            throw ProblemDetails.invalidCredentials
        }
        try await self.throttle.recordSuccess(email: email)
        guard account.status == .active else {
            throw ProblemDetails(
                status: .forbidden,
                code: "user_not_active",
                title: "Account not active",
                detail: "Activate the account with the emailed code first (POST /v1/users/activate)."
            )
        }
        let (token, _) = try await self.sessions.create(userID: account.id, profile: account.profile, userAgent: request.headers[.userAgent])
        context.logger.info("login", metadata: ["user.id": .stringConvertible(account.id)])
        var response = try LoginResponse(token: token, expiresIn: self.sessions.ttl.wholeMilliseconds / 1000).response(
            from: request,
            context: context
        )
        response.headers[.cacheControl] = "no-store"
        return response
    }
}

/// The client's address for rate limiting: `X-Real-IP` as set by our edge, else the peer address.
enum ClientAddress {
    static func of(_ request: Request, context: RegistrarRequestContext) -> String {
        if let real = request.headers[HTTPField.Name("X-Real-IP")!], !real.isEmpty, real.utf8.count <= 64 { return real }
        return context.remoteAddress ?? "unknown"
    }
}
