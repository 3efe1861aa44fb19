import Common
import Hummingbird
import Logging
import UsersAPI

@main
struct UsersAPIMain {
    static func main() async {
        await ServiceMain.run("users-api") {
            let environment = EnvironmentReader()
            switch CommandLine.arguments.dropFirst().first {
            case "migrate":
                let logger = LoggingSetup.bootstrap(service: "users-api", level: try environment.logLevel())
                let applied = try await runMigrations(postgres: PostgresSettings(environment: environment), logger: logger)
                logger.info("migrations done", metadata: ["migration.applied": .stringConvertible(applied.count)])
            case nil, "serve":
                let configuration = try UsersAPIConfiguration(environment: environment)
                let logger = LoggingSetup.bootstrap(service: "users-api", level: configuration.logLevel)
                let gate = ShutdownGate(drainPeriod: configuration.http.drainPeriod)
                let app = try await buildApplication(configuration: configuration, logger: logger, metrics: MetricsSetup.bootstrap(), gate: gate)
                try await app.runService(gate: gate)
                logger.info("stopped")
            case let other?:
                throw ConfigurationError(key: "argument", expected: "serve (default) or migrate", found: other)
            }
        }
    }
}
