import Common
import Foundation
import Hummingbird
import Logging

/// `GET /v1/users/me`, `POST /v1/users/logout`, `GET` and `DELETE /v1/users/me/sessions`.
struct SessionsController: Sendable {
    let users: UsersAPIClient
    let sessions: SessionStore

    func addRoutes(to router: Router<RegistrarRequestContext>) {
        router.get("/v1/users/me", use: self.me)
        router.post("/v1/users/logout", use: self.logout)
        router.get("/v1/users/me/sessions", use: self.list)
        router.delete("/v1/users/me/sessions", use: self.endAll)
    }

    /// The session of the request's Bearer token, or 401.
    func authenticate(_ request: Request) async throws -> (BearerToken, Session) {
        let token = try BearerToken(headers: request.headers)
        guard let session = try await self.sessions.session(token: token.value) else {
            throw BearerToken.unauthorized(detail: "The token is unknown, expired or revoked.", invalid: true)
        }
        return (token, session)
    }

    @Sendable func me(_ request: Request, context: RegistrarRequestContext) async throws -> Response {
        let (token, session) = try await self.authenticate(request)
        guard let profile = try await self.users.profile(id: session.userID, logger: context.logger) else {
            try await self.sessions.revoke(token: token.value, userID: session.userID)
            throw BearerToken.unauthorized(detail: "The account no longer exists.", invalid: true)
        }
        var response = try profile.response(from: request, context: context)
        response.headers[.cacheControl] = "no-store"
        return response
    }

    @Sendable func logout(_ request: Request, context: RegistrarRequestContext) async throws -> HTTPResponse.Status {
        let (token, session) = try await self.authenticate(request)
        try await self.sessions.revoke(token: token.value, userID: session.userID)
        return .noContent
    }

    @Sendable func list(_ request: Request, context: RegistrarRequestContext) async throws -> [SessionSummary] {
        let (token, session) = try await self.authenticate(request)
        let current = sha256Hex(token.value)
        return try await self.sessions.list(userID: session.userID).map { digest, session in
            SessionSummary(
                id: session.id,
                createdAt: session.createdAt,
                expiresAt: session.expiresAt,
                lastSeenAt: session.lastSeenAt,
                userAgent: session.userAgent,
                current: digest == current
            )
        }
    }

    @Sendable func endAll(_ request: Request, context: RegistrarRequestContext) async throws -> HTTPResponse.Status {
        let (_, session) = try await self.authenticate(request)
        try await self.sessions.revokeAll(userID: session.userID)
        return .noContent
    }
}

extension UserProfile: ResponseEncodable {}
extension SessionSummary: ResponseEncodable {}
