import Common
import Hummingbird
import Logging
import NIOCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

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

    /// The profile held by the session since login: one Redis round trip, whether or not
    /// users-api is up. A session without one (created by an older auth-api) gets it from
    /// users-api once, then holds it too.
    @Sendable func me(_ request: Request, context: RegistrarRequestContext) async throws -> Response {
        let (token, session) = try await self.authenticate(request)
        let body: ByteBuffer
        if let profile = session.profile {
            body = profile
        } else {
            guard let profile = try await self.users.profile(id: session.userID, logger: context.logger) else {
                try await self.sessions.revoke(token: token.value, userID: session.userID)
                throw BearerToken.unauthorized(detail: "The account no longer exists.", invalid: true)
            }
            body = try await self.sessions.storeProfile(profile, token: token.value)
        }
        let headers: HTTPFields = [
            .contentType: "application/json; charset=utf-8", .contentLength: String(body.readableBytes), .cacheControl: "no-store",
        ]
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: body))
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

extension SessionSummary: ResponseEncodable {}
