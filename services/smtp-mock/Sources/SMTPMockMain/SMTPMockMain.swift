import Common
import Hummingbird
import Logging
import SMTPMock

@main
struct SMTPMockMain {
    static func main() async {
        await ServiceMain.run("smtp-mock") {
            let configuration = try SMTPMockConfiguration(environment: EnvironmentReader())
            let logger = LoggingSetup.bootstrap(service: "smtp-mock", level: configuration.logLevel)
            let app = try await buildApplication(configuration: configuration, logger: logger, metrics: MetricsSetup.bootstrap())
            try await app.runService()
            logger.info("stopped")
        }
    }
}
