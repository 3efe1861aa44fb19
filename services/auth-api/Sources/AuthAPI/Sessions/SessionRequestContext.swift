import Common
import Hummingbird

/// The request context of auth-api's Bearer routes: everything of ``RegistrarRequestContext``
/// plus the session ``BearerAuthenticator`` found for the request's token.
struct SessionRequestContext: ChildRequestContext {
    var coreContext: CoreRequestContextStorage
    /// The peer's IP address (see ``RegistrarRequestContext/remoteAddress``).
    let remoteAddress: String?
    /// The live session of the request's token; set by ``BearerAuthenticator`` before any handler runs.
    var session: Session?
    /// SHA-256 (hex) of the request's token: the session's key, and how the current session is told apart.
    var tokenDigest: String = ""

    init(context: RegistrarRequestContext) {
        self.coreContext = context.coreContext
        self.remoteAddress = context.remoteAddress
    }

    var maxUploadSize: Int { RegistrarRequestContext.maxRequestBodyBytes }

    /// The session ``BearerAuthenticator`` found (it answers 401 before a handler runs without one).
    func requireSession() throws -> Session {
        guard let session = self.session else { throw BearerToken.unauthorized(detail: "No session.", invalid: true) }
        return session
    }

    /// The client's address for the credential budget, trusting `X-Real-IP` only from `proxies`.
    func clientAddress(of request: Request, trusting proxies: TrustedProxies) -> String {
        proxies.clientAddress(of: request, peer: self.remoteAddress)
    }
}

/// The one Bearer check of auth-api: the token of `Authorization: Bearer` must name a live
/// session (not expired, not idle past the timeout, not revoked), or the request is a 401 with
/// `WWW-Authenticate: Bearer` and no handler runs. The session rides in the context.
struct BearerAuthenticator: RouterMiddleware {
    typealias Context = SessionRequestContext

    let sessions: SessionStore

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let digest = sha256Hex(try BearerToken(headers: request.headers).value)
        guard let session = try await self.sessions.session(digest: digest) else {
            throw BearerToken.unauthorized(detail: "The token is unknown, expired, idle too long or revoked.", invalid: true)
        }
        var context = context
        context.session = session
        context.tokenDigest = digest
        return try await next(request, context)
    }
}
