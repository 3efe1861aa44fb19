import AsyncHTTPClient
import ServiceLifecycle

/// Runs an `HTTPClient` as a `Service`: shut down after graceful shutdown of what uses it.
struct HTTPClientService: Service {
    let client: HTTPClient

    func run() async throws {
        try? await gracefulShutdown()
        try await self.client.shutdown()
    }
}
