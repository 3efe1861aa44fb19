import Common
import Hummingbird
import Logging
import NIOCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `GET /v1/users/me`, `POST /v1/users/logout`, `GET` and `DELETE /v1/users/me/sessions`, and
/// `DELETE /v1/users/me/sessions/{id}`: every one behind ``BearerAuthenticator``.
struct SessionsController: Sendable {
    let users: UsersAPIClient
    let sessions: SessionStore

    func addRoutes(to group: RouterGroup<SessionRequestContext>) {
        group.get("/v1/users/me", use: self.me)
        group.post("/v1/users/logout", use: self.logout)
        group.get("/v1/users/me/sessions", use: self.list)
        group.delete("/v1/users/me/sessions", use: self.endAll)
        group.delete("/v1/users/me/sessions/:id", use: self.end)
    }

    /// The profile held by the session since login (refreshed by users-api when the email
    /// changes): one Redis round trip, whether or not users-api is up. A session without one
    /// (created by an older auth-api) gets it from users-api once, then holds it too.
    @Sendable func me(_ request: Request, context: SessionRequestContext) async throws -> Response {
        let session = try context.requireSession()
        let body: ByteBuffer
        if let profile = session.profile {
            body = profile
        } else {
            guard let profile = try await self.users.profile(id: session.userID, logger: context.logger) else {
                try await self.sessions.revoke(digest: context.tokenDigest, userID: session.userID)
                throw BearerToken.unauthorized(detail: "The account no longer exists.", invalid: true)
            }
            body = try await self.sessions.storeProfile(profile, digest: context.tokenDigest)
        }
        let headers: HTTPFields = [
            .contentType: "application/json; charset=utf-8", .contentLength: String(body.readableBytes), .cacheControl: "no-store",
        ]
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: body))
    }

    @Sendable func logout(_ request: Request, context: SessionRequestContext) async throws -> HTTPResponse.Status {
        try await self.sessions.revoke(digest: context.tokenDigest, userID: try context.requireSession().userID)
        return .noContent
    }

    @Sendable func list(_ request: Request, context: SessionRequestContext) async throws -> [SessionSummary] {
        let session = try context.requireSession()
        return try await self.sessions.list(userID: session.userID).map { digest, session in
            SessionSummary(
                id: session.id,
                createdAt: session.createdAt,
                expiresAt: session.expiresAt,
                lastSeenAt: session.lastSeenAt,
                userAgent: session.userAgent,
                current: digest == context.tokenDigest
            )
        }
    }

    @Sendable func endAll(_ request: Request, context: SessionRequestContext) async throws -> HTTPResponse.Status {
        try await self.sessions.revokeAll(userID: try context.requireSession().userID)
        return .noContent
    }

    /// Ends one session of the account (its `id` from the list; the current one too); 404
    /// `session_not_found` for an id the account does not have, so no other account's session
    /// can be named.
    @Sendable func end(_ request: Request, context: SessionRequestContext) async throws -> HTTPResponse.Status {
        let session = try context.requireSession()
        let id = context.parameters.get("id") ?? ""
        guard id.utf8.count == 16, id.utf8.allSatisfy({ ("0"..."9").contains(Unicode.Scalar($0)) || ("a"..."f").contains(Unicode.Scalar($0)) }),
            try await self.sessions.revoke(id: id, userID: session.userID)
        else {
            throw ProblemDetails(
                status: .notFound,
                code: "session_not_found",
                title: "Session not found",
                detail: "This account has no live session with that id (see GET /v1/users/me/sessions)."
            )
        }
        return .noContent
    }
}

extension SessionSummary: ResponseEncodable {}
