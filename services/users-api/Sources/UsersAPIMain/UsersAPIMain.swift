import Common
import Hummingbird
import Logging
import UsersAPI

@main
struct UsersAPIMain {
    static func main() async {
        await ServiceMain.run("users-api") {
            let configuration = try UsersAPIConfiguration(environment: EnvironmentReader())
            let logger = LoggingSetup.bootstrap(service: "users-api", level: configuration.logLevel)
            switch CommandLine.arguments.dropFirst().first {
            case "migrate":
                let applied = try await runMigrations(configuration: configuration, logger: logger)
                logger.info("migrations done", metadata: ["migration.applied": .stringConvertible(applied.count)])
            case nil, "serve":
                let app = try await buildApplication(configuration: configuration, logger: logger, metrics: MetricsSetup.bootstrap())
                try await app.runService()
            case let other?:
                throw ConfigurationError(key: "argument", expected: "serve (default) or migrate", found: other)
            }
        }
    }
}
