import Common
import Logging
import NIOPosix
import NIOSSL
import PostgresNIO

extension PostgresSettings {
    /// Opens one connection outside any pool, within `timeout`, and closes it: the pool retries
    /// a failing connection quietly until its circuit breaker trips, this says at once why it
    /// failed. A refused certificate is thrown as ``PostgresTLSFailure`` (one line).
    public func probe(timeout: Duration, logger: Logger) async throws {
        let tls = try self.tlsSetting().connection()
        let configuration = PostgresConnection.Configuration(
            host: self.host,
            port: self.port,
            username: self.username,
            password: self.password,
            database: self.database,
            tls: tls
        )
        do {
            let connection = try await withTimeout(timeout) {
                try await PostgresConnection.connect(
                    on: MultiThreadedEventLoopGroup.singleton.next(),
                    configuration: configuration,
                    id: 0,
                    logger: logger
                ).get()
            }
            try? await connection.close()
        } catch {
            throw PostgresTLSFailure(error, settings: self) ?? error
        }
    }
}
