import Common
import Logging
import PostgresNIO

extension ReadinessCheck {
    /// `postgres`: `SELECT 1` answers within a second; otherwise one direct connection says why
    /// (a TLS failure names the certificate that was refused).
    public static func postgres(_ client: PostgresClient, settings: PostgresSettings, logger: Logger) -> ReadinessCheck {
        ReadinessCheck("postgres") {
            do {
                try await withTimeout(.seconds(1)) { try await client.query("SELECT 1", logger: logger) }
            } catch {
                try await settings.probe(timeout: .seconds(1), logger: logger)
                throw error
            }
        }
    }
}
