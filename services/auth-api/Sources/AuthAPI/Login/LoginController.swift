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
///
/// Wrong passwords are counted by users-api in the credential budget every password route shares
/// (429 `too_many_login_failures` is relayed with its `Retry-After`); auth-api tells it the client's
/// address, taken from `X-Real-IP` only when the peer is a trusted proxy.
struct LoginController: Sendable {
    let users: UsersAPIClient
    let sessions: SessionStore
    let proxies: TrustedProxies

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
        guard
            let account = try await self.users.verify(
                email: credentials.username,
                password: credentials.password,
                client: context.clientAddress(of: request, trusting: self.proxies),
                logger: context.logger
            )
        else {
            throw ProblemDetails.invalidCredentials
        }
        guard account.status == .active else {
            throw ProblemDetails(
                status: .forbidden,
                code: "user_not_active",
                title: "Account not active",
                detail: "Activate the account with the emailed code first (POST /v1/users/activate)."
            )
        }
        // Refused when the password was reset or changed (or the account deleted) while it was checked.
        guard
            let (token, _) = try await self.sessions.create(
                userID: account.id,
                profile: account.profile,
                userAgent: request.headers[.userAgent],
                stamp: account.securityStamp
            )
        else { throw ProblemDetails.invalidCredentials }
        context.logger.info("login", metadata: ["user.id": .stringConvertible(account.id)])
        var response = try LoginResponse(token: token, expiresIn: self.sessions.ttl.wholeMilliseconds / 1000).response(
            from: request,
            context: context
        )
        response.headers[.cacheControl] = "no-store"
        return response
    }
}
