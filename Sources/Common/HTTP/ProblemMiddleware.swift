import HTTPTypes
import Hummingbird
import Logging
import NIOCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Turns every error thrown by a route into an `application/problem+json` response.
///
/// ``ProblemDetails`` pass through; Hummingbird's own `HTTPError`s (404, 405, 413 …) get a problem
/// body with a code derived from their status; anything else is a logged 500 whose text never
/// reaches the client.
public struct ProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Creates the middleware.
    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let problem as ProblemDetails {
            if problem.status.kind == .serverError {
                context.logger.warning("request failed", metadata: ["problem.code": .string(problem.code)])
            }
            return problem.response(allocator: ByteBufferAllocator())
        } catch let error as any HTTPResponseError {
            return Self.problem(for: error).response(allocator: ByteBufferAllocator())
        } catch is CancellationError {
            return ProblemDetails.unavailable("The server is shutting down.").response(allocator: ByteBufferAllocator())
        } catch {
            if let unavailable = ProblemDetails.unavailable(for: error) {
                context.logger.warning("dependency unavailable", metadata: ["error": .string(String(describing: error))])
                return unavailable.response(allocator: ByteBufferAllocator())
            }
            context.logger.error("unhandled error", metadata: ["error.type": .string(String(reflecting: type(of: error)))])
            return ProblemDetails.internalError.response(allocator: ByteBufferAllocator())
        }
    }

    /// Maps a Hummingbird error to a problem, keeping its headers.
    static func problem(for error: any HTTPResponseError) -> ProblemDetails {
        let headers = (error as? HTTPError)?.headers ?? [:]
        switch error.status {
        case .notFound: return ProblemDetails.notFound
        case .methodNotAllowed: return ProblemDetails.methodNotAllowed
        case .contentTooLarge: return ProblemDetails.bodyTooLarge(limit: RegistrarRequestContext.maxRequestBodyBytes)
        default:
            let code = error.status.reasonPhrase.lowercased().split(separator: " ").joined(separator: "_")
            return ProblemDetails(status: error.status, code: code, title: error.status.reasonPhrase, headers: headers)
        }
    }
}
