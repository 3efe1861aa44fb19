import Common
import Foundation
import Logging

/// What `make test` provides to the suites: the ephemeral Postgres and Redis, the Redis binary and
/// the folder of built executables. A suite run without them fails with a message saying so.
public enum TestEnvironment {
    /// A required variable, or an error naming it.
    public static func require(_ key: String) throws -> String {
        guard let value = ProcessInfo.processInfo.environment[key], !value.isEmpty else {
            throw MissingTestEnvironment(key: key)
        }
        return value
    }

    /// `TEST_DATABASE_URL`: the test cluster's `app` database.
    public static func databaseURL() throws -> String { try require("TEST_DATABASE_URL") }

    /// `TEST_POSTGRES_ADMIN_URL`: a superuser on the test cluster, to create scratch databases.
    public static func postgresAdminURL() throws -> String { try require("TEST_POSTGRES_ADMIN_URL") }

    /// `TEST_REDIS_URL`: the shared test Redis (`rediss://`, verified by `TEST_REDIS_CA`, under
    /// `TEST_REDIS_TLS=1 make test`).
    public static func redisConfiguration() throws -> RedisConfiguration {
        let ca = ProcessInfo.processInfo.environment["TEST_REDIS_CA"]
        return try RedisConfiguration(url: require("TEST_REDIS_URL"), tls: ca.map { try RedisTLS(caFile: $0) })
    }

    /// An environment for a service built in the test process: `values`, plus
    /// `REDIS_TLS_CA_FILE` = `TEST_REDIS_CA` when the test Redis speaks TLS (`TEST_REDIS_TLS=1`).
    public static func reader(_ values: [String: String]) -> EnvironmentReader {
        var values = values
        if let ca = ProcessInfo.processInfo.environment["TEST_REDIS_CA"], values["REDIS_TLS_CA_FILE"] == nil {
            values["REDIS_TLS_CA_FILE"] = ca
        }
        return EnvironmentReader(values)
    }

    /// Records a process the tests started (`TEST_SPAWN_DIR/<pid>`), so `make test` can kill it
    /// even if the test process itself dies before it cleans up.
    public static func recordSpawned(_ pid: Int32) {
        guard let directory = ProcessInfo.processInfo.environment["TEST_SPAWN_DIR"] else { return }
        FileManager.default.createFile(atPath: "\(directory)/\(pid)", contents: nil)
    }

    /// A quiet logger for tests (`TEST_LOG_LEVEL`, default `warning`).
    public static func logger(_ label: String) -> Logger {
        var logger = Logger(label: label)
        logger.logLevel = ProcessInfo.processInfo.environment["TEST_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
        return logger
    }
}

/// A variable `make test` sets is missing: the suite was started some other way.
public struct MissingTestEnvironment: Error, CustomStringConvertible {
    /// The missing variable.
    public let key: String

    public var description: String { "\(self.key) is not set: run the tests with `make test`, which starts Postgres and Redis" }
}
