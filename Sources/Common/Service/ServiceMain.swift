import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What every executable's `main` does around its own work: configuration errors become one line
/// on standard error and exit status 78 (EX_CONFIG); other start-up failures exit 1.
public enum ServiceMain {
    /// Runs `body`, mapping failures to a one-line message and an exit status.
    public static func run(_ service: String, _ body: @Sendable () async throws -> Void) async {
        do {
            try await body()
        } catch let error as ConfigurationError {
            writeAll("\(service): \(error)\n", to: STDERR_FILENO)
            exit(78)
        } catch {
            writeAll("\(service): \(error)\n", to: STDERR_FILENO)
            exit(1)
        }
    }
}
