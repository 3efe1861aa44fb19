import AuthAPI
import Common
import Hummingbird
import Logging

@main
struct AuthAPIMain {
    static func main() async {
        await ServiceMain.run("auth-api") {
            let configuration = try AuthAPIConfiguration(environment: EnvironmentReader())
            let logger = LoggingSetup.bootstrap(service: "auth-api", level: configuration.logLevel)
            let app = try await buildApplication(configuration: configuration, logger: logger, metrics: MetricsSetup.bootstrap())
            try await app.runService()
            logger.info("stopped")
        }
    }
}
