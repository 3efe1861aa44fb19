import Common
import Logging
import PostgresNIO

extension PostgresSettings {
    /// The postgres-nio client configuration.
    public var clientConfiguration: PostgresClient.Configuration {
        var configuration = PostgresClient.Configuration(
            host: self.host,
            port: self.port,
            username: self.username,
            password: self.password,
            database: self.database,
            tls: .disable
        )
        configuration.options.maximumConnections = self.maximumConnections
        configuration.options.connectTimeout = .seconds(3)
        return configuration
    }

    /// A client for these settings; run it as a `Service` before querying.
    public func makeClient(logger: Logger) -> PostgresClient {
        PostgresClient(configuration: self.clientConfiguration, backgroundLogger: logger)
    }
}
