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
            let gate = ShutdownGate(drainPeriod: configuration.http.drainPeriod)
            let app = try await buildApplication(configuration: configuration, logger: logger, metrics: MetricsSetup.bootstrap(), gate: gate)
            try await app.runService(gate: gate)
            logger.info("stopped")
        }
    }
}
