import Common
import CommonPostgres
import Foundation
import Logging
import PostgresNIO
import TestSupport
import Testing

/// DATABASE_URL's sslmode and sslrootcert against the test Postgres, which make test starts with
/// ssl=on and a CA of its own (TEST_POSTGRES_CA); another CA (TEST_POSTGRES_OTHER_CA) must fail.
@Suite(.timeLimit(.minutes(1))) struct PostgresTLSTests {
    let logger = TestEnvironment.logger("tls-test")

    func url(_ query: String) throws -> String { try TestEnvironment.databaseURL() + "?" + query }

    /// Whether the session `settings` opens is encrypted, as Postgres itself reports it.
    func encrypted(_ settings: PostgresSettings) async throws -> Bool {
        try await TemporaryDatabase.withClient(settings) { client in
            try await withPostgresDeadline(.seconds(5)) {
                let rows = try await client.query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", logger: self.logger)
                for try await ssl in rows.decode(Bool.self) { return ssl }
                return false
            }
        }
    }

    @Test func verifyFullWithTheRightCAIsEncrypted() async throws {
        let ca = try TestEnvironment.require("TEST_POSTGRES_CA")
        #expect(try await self.encrypted(PostgresSettings(url: self.url("sslmode=verify-full&sslrootcert=\(ca)"))))
        #expect(try await self.encrypted(PostgresSettings(url: self.url("sslmode=verify-ca&sslrootcert=\(ca)"))))
        #expect(try await self.encrypted(PostgresSettings(url: self.url("sslmode=require"))), "require: encrypted, not verified")
        #expect(try await !self.encrypted(PostgresSettings(url: self.url("sslmode=disable"))))
    }

    @Test func aWrongCAIsRefusedWithAClearReason() async throws {
        let other = try TestEnvironment.require("TEST_POSTGRES_OTHER_CA")
        let settings = try PostgresSettings(url: self.url("sslmode=verify-full&sslrootcert=\(other)"))
        let started = ContinuousClock.now
        let failure = await #expect(throws: PostgresTLSFailure.self) { try await settings.probe(timeout: .seconds(5), logger: self.logger) }
        #expect(ContinuousClock.now - started < .seconds(3), "at once, not after the pool gives up")
        #expect(
            failure?.description.contains("certificate was not accepted") == true && failure?.description.contains("sslrootcert=\(other)") == true
        )
        let right = try PostgresSettings(url: self.url("sslmode=verify-full&sslrootcert=\(try TestEnvironment.require("TEST_POSTGRES_CA"))"))
        try await right.probe(timeout: .seconds(5), logger: self.logger)
    }

    /// `users-api migrate` (the Job) with a wrong CA: exit status 1 and one line naming the cause.
    @Test func migrateWithAWrongCAFailsWithOneLine() throws {
        let other = try TestEnvironment.require("TEST_POSTGRES_OTHER_CA")
        let migrate = try ServiceProcess(
            product: "users-api",
            environment: ["DATABASE_URL": try self.url("sslmode=verify-full&sslrootcert=\(other)")],
            arguments: ["migrate"]
        )
        let (status, output) = migrate.waitForExit()
        #expect(status == 1)
        let lines = output.split(separator: "\n").filter { !$0.hasPrefix("{") }
        #expect(lines.count == 1, "\(output)")
        #expect(lines.first?.hasPrefix("users-api: Postgres at 127.0.0.1:") == true && lines.first?.contains("certificate") == true, "\(output)")
    }

    @Test(arguments: ["sslmode=verify-everything", "sslmode=verify-full&sslrootcert=", "sslmode=disable&sslrootcert=/x.pem", "sslcert=/x"])
    func badTLSParametersAreConfigurationErrors(query: String) throws {
        #expect(throws: ConfigurationError.self) { try PostgresSettings(url: try self.url(query)) }
    }

    @Test func anUnreadableRootCertificateStopsTheStart() throws {
        let settings = try PostgresSettings(url: try self.url("sslmode=verify-full&sslrootcert=/nonexistent/ca.pem"))
        #expect(throws: ConfigurationError.self) { try settings.makeClient(logger: self.logger) }
    }
}
