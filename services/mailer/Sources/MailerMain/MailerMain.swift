import Common
import Hummingbird
import Logging
import Mailer

@main
struct MailerMain {
    static func main() async {
        await ServiceMain.run("mailer") {
            let configuration = try MailerConfiguration(environment: EnvironmentReader())
            let logger = LoggingSetup.bootstrap(service: "mailer", level: configuration.logLevel)
            let gate = ShutdownGate(drainPeriod: configuration.http.drainPeriod)
            let app = try await buildApplication(configuration: configuration, logger: logger, metrics: MetricsSetup.bootstrap(), gate: gate)
            try await app.runService(gate: gate)
            logger.info("stopped")
        }
    }
}
