import Common
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The signed-in account routes, behind ``BearerAuthenticator``: `POST /v1/users/me/password`,
/// `POST /v1/users/me/email`, `POST /v1/users/me/email/confirm` and `DELETE /v1/users/me`.
///
/// auth-api checks the body's shape and the session; users-api checks the password (the shared
/// credential budget), changes the account and ends or refreshes its sessions in Redis
/// (`InternalAPI+account`). Its problems are relayed as they are. An account users-api no longer
/// has ends the session: 401.
struct AccountController: Sendable {
    let users: UsersAPIClient
    let sessions: SessionStore
    let proxies: TrustedProxies

    func addRoutes(to group: RouterGroup<SessionRequestContext>) {
        group.post("/v1/users/me/password", use: self.changePassword)
        group.post("/v1/users/me/email", use: self.changeEmail)
        group.post("/v1/users/me/email/confirm", use: self.confirmEmail)
        group.delete("/v1/users/me", use: self.delete)
    }

    /// 204; every other session of the account ends.
    @Sendable func changePassword(_ request: Request, context: SessionRequestContext) async throws -> HTTPResponse.Status {
        var body = try await JSONBody.parse(request, context: context)
        let current = body.string("current_password")
        let new = body.string("new_password")
        try body.finish()
        guard let current, let new else { throw ProblemDetails.internalError }
        let session = try context.requireSession()
        let wire = ChangePasswordRequest(
            currentPassword: current,
            newPassword: new,
            clientAddress: context.clientAddress(of: request, trusting: self.proxies),
            keepSession: context.tokenDigest
        )
        _ = try await self.call(.POST, InternalAPI.passwordPath(session.userID), wire, .noContent, request, context)
        return .noContent
    }

    /// 202; a code goes to the new address (whether or not another account has it).
    @Sendable func changeEmail(_ request: Request, context: SessionRequestContext) async throws -> Response {
        var body = try await JSONBody.parse(request, context: context)
        let password = body.string("password")
        let newEmail = body.string("new_email")
        try body.finish()
        guard let password, let newEmail else { throw ProblemDetails.internalError }
        let session = try context.requireSession()
        let wire = ChangeEmailRequest(
            password: password,
            newEmail: newEmail,
            clientAddress: context.clientAddress(of: request, trusting: self.proxies)
        )
        _ = try await self.call(.POST, InternalAPI.emailPath(session.userID), wire, .accepted, request, context)
        return try Accepted().response(status: .accepted, from: request, context: context)
    }

    /// 200 with the new profile (which this session now holds; every other one ends).
    @Sendable func confirmEmail(_ request: Request, context: SessionRequestContext) async throws -> Response {
        var body = try await JSONBody.parse(request, context: context)
        let code = body.string("code")
        try body.finish()
        guard let code else { throw ProblemDetails.internalError }
        let session = try context.requireSession()
        let bytes = try await self.call(
            .POST,
            InternalAPI.emailConfirmPath(session.userID),
            ConfirmEmailRequest(code: code, keepSession: context.tokenDigest),
            .ok,
            request,
            context
        )
        let profile = try AccountSessions.encode(try self.users.decodeProfile(bytes))
        let headers: HTTPFields = [
            .contentType: "application/json; charset=utf-8", .contentLength: String(profile.readableBytes), .cacheControl: "no-store",
        ]
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: profile))
    }

    /// 204; the account, its sessions and codes are gone.
    @Sendable func delete(_ request: Request, context: SessionRequestContext) async throws -> HTTPResponse.Status {
        var body = try await JSONBody.parse(request, context: context)
        let password = body.string("password")
        try body.finish()
        guard let password else { throw ProblemDetails.internalError }
        let session = try context.requireSession()
        let wire = DeleteAccountRequest(password: password, clientAddress: context.clientAddress(of: request, trusting: self.proxies))
        do {
            _ = try await self.users.account(
                .DELETE,
                InternalAPI.accountPath(session.userID),
                body: wire,
                expecting: .noContent,
                acceptLanguage: request.headers[.acceptLanguage],
                logger: context.logger
            )
        } catch is UsersAPIClient.AccountGone {
            // Gone already (a DELETE the internal edge repeated after a timeout, or another of its
            // sessions deleted it): what the client asked for is done; this session ends too.
            try await self.sessions.revoke(digest: context.tokenDigest, userID: session.userID)
        }
        return .noContent
    }

    private func call(
        _ method: HTTPMethod,
        _ path: String,
        _ wire: some Encodable,
        _ success: HTTPResponseStatus,
        _ request: Request,
        _ context: SessionRequestContext
    ) async throws -> ByteBuffer {
        do {
            return try await self.users.account(
                method,
                path,
                body: wire,
                expecting: success,
                acceptLanguage: request.headers[.acceptLanguage],
                logger: context.logger
            )
        } catch is UsersAPIClient.AccountGone {
            try await self.sessions.revoke(digest: context.tokenDigest, userID: try context.requireSession().userID)
            throw BearerToken.unauthorized(detail: "The account no longer exists.", invalid: true)
        }
    }
}
