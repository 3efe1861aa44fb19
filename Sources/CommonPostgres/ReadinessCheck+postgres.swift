import Common
import Logging
import PostgresNIO

extension ReadinessCheck {
    /// `postgres`: `SELECT 1` answers; a TLS failure says which certificate was refused.
    public static func postgres(_ client: PostgresClient, settings: PostgresSettings, logger: Logger) -> ReadinessCheck {
        ReadinessCheck("postgres") {
            do {
                try await client.query("SELECT 1", logger: logger)
            } catch {
                throw PostgresTLSFailure(error, settings: settings) ?? error
            }
        }
    }
}
