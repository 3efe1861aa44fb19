import Common
import CommonPostgres
import Foundation

/// The SQL migrations users-api owns (`users`, `outbox`), shipped as a resource of this module.
public enum UsersMigrations {
    /// The migration files, in version order.
    public static func all() throws -> [Migration] {
        guard let directory = Bundle.module.url(forResource: "Migrations", withExtension: nil) else {
            throw MigrationError.badFileName("Migrations (resource folder missing from the build)")
        }
        return try Migration.load(from: directory)
    }
}
