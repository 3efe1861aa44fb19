import Common
import Testing

@Suite struct ConfigurationTests {
    @Test func integerDefaultsAndBounds() throws {
        let environment = EnvironmentReader(["CODE_TTL_SECONDS": " 30 "])
        #expect(try environment.int("CODE_TTL_SECONDS", default: 60, in: 1...86400) == 30)
        #expect(try environment.int("CODE_ATTEMPTS", default: 5, in: 1...100) == 5)
    }

    @Test func nonNumericValueIsAOneLineError() {
        let environment = EnvironmentReader(["CODE_TTL_SECONDS": "sixty"])
        #expect(throws: ConfigurationError(key: "CODE_TTL_SECONDS", expected: "an integer from 1 to 86400", found: "sixty")) {
            try environment.int("CODE_TTL_SECONDS", default: 60, in: 1...86400)
        }
        let message = String(describing: ConfigurationError(key: "CODE_TTL_SECONDS", expected: "an integer from 1 to 86400", found: "sixty"))
        #expect(message == "invalid CODE_TTL_SECONDS=\"sixty\": expected an integer from 1 to 86400")
        #expect(!message.contains("\n"))
    }

    @Test func outOfRangeIsRejected() {
        #expect(throws: ConfigurationError.self) { try EnvironmentReader(["HTTP_PORT": "70000"]).port("HTTP_PORT", default: 8081) }
        #expect(throws: ConfigurationError.self) { try EnvironmentReader(["X": "0.5x"]).double("X", default: 0, in: 0...1) }
        #expect(throws: ConfigurationError.self) { try EnvironmentReader(["LOG_LEVEL": "loud"]).logLevel() }
    }

    @Test func redisURLWithCredentialsAndDatabase() throws {
        let configuration = try RedisConfiguration(url: "redis://worker:p%40ss@cache.internal:6380/3")
        #expect(configuration.host == "cache.internal")
        #expect(configuration.port == 6380)
        #expect(configuration.username == "worker")
        #expect(configuration.password == "p@ss")
        #expect(configuration.database == 3)
        let literalPercent = try RedisConfiguration(url: "redis://worker:p%2541ss%3Aw@cache.internal")
        #expect(literalPercent.password == "p%41ss:w", "percent-decoded exactly once")
        let passwordOnly = try RedisConfiguration(url: "redis://:secret@127.0.0.1")
        #expect(passwordOnly.username == nil)
        #expect(passwordOnly.password == "secret")
        #expect(passwordOnly.port == 6379)
        #expect(passwordOnly.database == 0)
    }

    @Test(arguments: ["http://127.0.0.1:6379", "redis://", "redis://host:6379/99", "redis://host:6379/x", "not a url"])
    func malformedRedisURLIsRejected(url: String) {
        #expect(throws: ConfigurationError.self) { try RedisConfiguration(url: url) }
    }

    @Test func databaseURLIsParsedAndErrorsHideThePassword() throws {
        let settings = try PostgresSettings(url: "postgresql://app:s3cret@db:5432/app")
        #expect(settings.host == "db")
        #expect(settings.port == 5432)
        #expect(settings.username == "app")
        #expect(settings.password == "s3cret")
        #expect(settings.database == "app")
        do {
            _ = try PostgresSettings(url: "postgresql://app:s3cret@db:5432/")
            Issue.record("a URL without a database must be rejected")
        } catch let error as ConfigurationError {
            #expect(error.key == "DATABASE_URL")
            #expect(!error.description.contains("s3cret"))
            #expect(error.description.contains("app:***@db"))
        }
    }

    @Test func secretsAreRequiredAndNeverEchoed() {
        #expect(throws: ConfigurationError(key: "INTERNAL_API_TOKEN", expected: "a value (it is required)", found: nil)) {
            try EnvironmentReader([:]).secret("INTERNAL_API_TOKEN")
        }
        do {
            _ = try EnvironmentReader(["INTERNAL_API_TOKEN": "short"]).secret("INTERNAL_API_TOKEN", minimumLength: 16)
            Issue.record("a short secret must be rejected")
        } catch {
            #expect(!String(describing: error).contains("short"))
        }
    }
}
