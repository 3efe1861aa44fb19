import Common
import NIOSSL
import PostgresNIO

/// A connection that failed because of TLS: the server's certificate was refused (wrong CA,
/// wrong host name, expired), or the server does not offer TLS although `sslmode` requires it.
/// Its description is one line saying which, for the log and for `users-api migrate`.
public struct PostgresTLSFailure: Error, CustomStringConvertible {
    /// What went wrong, in words.
    public let reason: String

    /// The TLS failure inside `error` (a `PSQLError` around an NIOSSL error), if it is one.
    public init?(_ error: any Error, settings: PostgresSettings) {
        let where_ =
            "\(settings.host):\(settings.port), sslmode=\(settings.tlsMode.rawValue)"
            + (settings.rootCertificatePath.map { ", sslrootcert=\($0)" } ?? "")
        var cause: (any Error)? = error
        while let current = cause {
            switch current {
            case let psql as PSQLError where psql.code == .sslUnsupported:
                self.reason = "Postgres at \(where_) does not offer TLS, which sslmode requires"
                return
            case let extra as NIOSSLExtraError where extra == .failedToValidateHostname:
                self.reason = "Postgres at \(where_): its certificate does not name the host (\(extra))"
                return
            case let ssl as NIOSSLError:
                self.reason = "Postgres at \(where_): TLS failed, the server's certificate was not accepted (\(ssl))"
                return
            case let psql as PSQLError:
                cause = psql.underlying
            default:
                cause = nil
            }
        }
        return nil
    }

    public var description: String { self.reason }
}
