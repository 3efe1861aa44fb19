import AsyncHTTPClient
import Common
import HTTPTypes
import Logging
import NIOCore
import NIOHTTP1

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// auth-api's client of users-api's internal API (the contract types are Common's `InternalAPI`).
///
/// Pooled keep-alive connections, a deadline per call, no retrying of connection attempts: when
/// users-api is unreachable, answers 5xx or times out, calls throw a 503 problem at once.
struct UsersAPIClient: Sendable {
    let http: HTTPClient
    let baseURL: String
    let token: String
    let timeout: Duration

    /// `POST /internal/v1/credentials/verify`: the account, or nil for wrong credentials. A spent
    /// credential budget (429) and an overloaded users-api (503) are relayed with their `Retry-After`.
    func verify(email: String, password: String, client: String, logger: Logger) async throws -> VerifiedCredentials? {
        let body = try JSONEncoder().encode(VerifyCredentialsRequest(email: email, password: password, clientAddress: client))
        let (status, headers, bytes) = try await self.call(.POST, InternalAPI.verifyCredentialsPath, body: body, logger: logger)
        switch status {
        case .ok: return try self.decode(VerifiedCredentials.self, bytes)
        case .unauthorized where Self.problem(bytes)?.code == "invalid_credentials": return nil
        case .unprocessableEntity: return nil
        case .tooManyRequests, .serviceUnavailable:
            guard let problem = Self.problem(bytes) else { throw Self.unavailable("users-api answered \(status.code)") }
            var relayed = ProblemDetails(
                status: .init(code: Int(status.code)),
                code: problem.code,
                title: problem.title,
                detail: problem.detail
            )
            relayed.headers[.retryAfter] = headers.first(name: "Retry-After") ?? "1"
            throw relayed
        case .unauthorized:
            logger.error("users-api refused our INTERNAL_API_TOKEN: the two services are configured with different tokens")
            throw Self.unavailable("users-api refused the internal token")
        default: throw Self.unavailable("users-api answered \(status.code)")
        }
    }

    /// `GET /internal/v1/users/{id}`: the profile, or nil when there is no such user.
    func profile(id: UUID, logger: Logger) async throws -> UserProfile? {
        let (status, _, bytes) = try await self.call(.GET, InternalAPI.userPath(id), body: nil, logger: logger)
        switch status {
        case .ok: return try self.decode(UserProfile.self, bytes)
        case .notFound: return nil
        default: throw Self.unavailable("users-api answered \(status.code)")
        }
    }

    /// One account route of `InternalAPI+account`: the success body (empty for 204), or the
    /// problem users-api answered, relayed as it is (with its `Retry-After`); 404 `user_not_found`
    /// is ``AccountGone``; a 5xx or anything unexpected is a 503.
    func account(
        _ method: HTTPMethod,
        _ path: String,
        body: some Encodable,
        expecting success: HTTPResponseStatus,
        acceptLanguage: String?,
        logger: Logger
    ) async throws -> ByteBuffer {
        let (status, headers, bytes) = try await self.call(
            method,
            path,
            body: try JSONEncoder().encode(body),
            acceptLanguage: acceptLanguage,
            logger: logger
        )
        if status == success { return bytes }
        guard (400..<500).contains(status.code) || status == .serviceUnavailable, let problem = Self.problem(bytes) else {
            throw Self.unavailable("users-api answered \(status.code)")
        }
        if status == .unauthorized {
            logger.error("users-api refused our INTERNAL_API_TOKEN: the two services are configured with different tokens")
            throw Self.unavailable("users-api refused the internal token")
        }
        if status == .notFound && problem.code == "user_not_found" { throw AccountGone() }
        var relayed = ProblemDetails(status: .init(code: Int(status.code)), code: problem.code, title: problem.title, detail: problem.detail)
        relayed.errors = problem.errors ?? []
        if let retryAfter = headers.first(name: "Retry-After") { relayed.headers[.retryAfter] = retryAfter }
        throw relayed
    }

    /// Decodes a success body of ``account(_:_:body:expecting:acceptLanguage:logger:)``.
    func decodeProfile(_ bytes: ByteBuffer) throws -> UserProfile { try self.decode(UserProfile.self, bytes) }

    private func call(
        _ method: HTTPMethod,
        _ path: String,
        body: Data?,
        acceptLanguage: String? = nil,
        logger: Logger
    ) async throws -> (HTTPResponseStatus, HTTPHeaders, ByteBuffer) {
        var request = HTTPClientRequest(url: self.baseURL + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(self.token)")
        if let acceptLanguage { request.headers.add(name: "Accept-Language", value: acceptLanguage) }
        if let requestID = logger[metadataKey: "request.id"] { request.headers.add(name: "X-Request-ID", value: "\(requestID)") }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        do {
            let response = try await self.http.execute(request, timeout: .init(self.timeout))
            let bytes = try await response.body.collect(upTo: 1 << 20)
            return (response.status, response.headers, bytes)
        } catch let problem as ProblemDetails {
            throw problem
        } catch {
            logger.warning("users-api unreachable", metadata: ["error": "\(error)"])
            throw Self.unavailable("users-api is unreachable")
        }
    }

    private static func problem(_ bytes: ByteBuffer) -> ProblemDetails.Body? {
        try? JSONDecoder().decode(ProblemDetails.Body.self, from: Data(bytes.readableBytesView))
    }

    private func decode<Value: Decodable>(_ type: Value.Type, _ bytes: ByteBuffer) throws -> Value {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        do {
            return try decoder.decode(type, from: Data(bytes.readableBytesView))
        } catch {
            throw Self.unavailable("users-api sent an unexpected \(type) body")
        }
    }

    /// users-api has no such account (it was deleted): the session that named it is dead.
    struct AccountGone: Error {}

    static func unavailable(_ reason: String) -> ProblemDetails {
        .unavailable("The account service is unavailable (\(reason)); retry shortly.")
    }
}
