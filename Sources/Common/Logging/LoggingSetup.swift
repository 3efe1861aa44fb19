import Logging

/// Process-wide logging set-up, called once by each executable's `main` before anything logs.
public enum LoggingSetup {
    /// Bootstraps `swift-log` with ``JSONLogHandler`` at `level`, and returns the service's root logger.
    public static func bootstrap(service: String, level: Logger.Level) -> Logger {
        LoggingSystem.bootstrap { label in JSONLogHandler(label: label, level: level) }
        var logger = Logger(label: service)
        logger.logLevel = level
        return logger
    }
}
