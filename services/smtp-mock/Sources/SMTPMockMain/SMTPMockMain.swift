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
            let gate = ShutdownGate(drainPeriod: configuration.http.drainPeriod)
            let app = try await buildApplication(configuration: configuration, logger: logger, metrics: MetricsSetup.bootstrap(), gate: gate)
            try await app.runService(gate: gate)
            logger.info("stopped")
        }
    }
}
