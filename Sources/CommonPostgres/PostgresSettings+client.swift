import Common
import Logging
import NIOSSL
import PostgresNIO

extension PostgresSettings {
    /// The postgres-nio client configuration.
    public func clientConfiguration() throws -> PostgresClient.Configuration {
        var configuration = PostgresClient.Configuration(
            host: self.host,
            port: self.port,
            username: self.username,
            password: self.password,
            database: self.database,
            tls: try self.tlsSetting().client
        )
        configuration.options.maximumConnections = self.maximumConnections
        configuration.options.connectTimeout = .seconds(3)
        return configuration
    }

    /// A client for these settings; run it as a `Service` before querying.
    public func makeClient(logger: Logger) throws -> PostgresClient {
        PostgresClient(configuration: try self.clientConfiguration(), backgroundLogger: logger)
    }

    /// postgres-nio's TLS setting for `sslmode` and `sslrootcert`, with libpq's meanings: `require`
    /// encrypts without verifying (unless a root certificate is given), `verify-ca` checks the chain,
    /// `verify-full` the chain and the host name. A root certificate file that cannot be read is a
    /// configuration error at start-up, not a failure at the first query.
    func tlsSetting() throws -> TLSSetting {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let path = self.rootCertificatePath {
            do {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(path))
            } catch {
                throw ConfigurationError(key: "DATABASE_URL", expected: "sslrootcert naming a readable PEM file of CA certificates", found: path)
            }
        }
        switch self.tlsMode {
        case .disable:
            return .disable
        case .allow, .prefer:
            tls.certificateVerification = .none
            return .prefer(tls)
        case .require:
            tls.certificateVerification = self.rootCertificatePath == nil ? .none : .noHostnameVerification
            return .require(tls)
        case .verifyCA:
            tls.certificateVerification = .noHostnameVerification
            return .require(tls)
        case .verifyFull:
            tls.certificateVerification = .fullVerification
            return .require(tls)
        }
    }
}

/// Whether and how a connection uses TLS, before it is turned into postgres-nio's two settings
/// (the pool's and a single connection's).
enum TLSSetting {
    case disable
    case prefer(TLSConfiguration)
    case require(TLSConfiguration)

    /// The pool's setting.
    var client: PostgresClient.Configuration.TLS {
        switch self {
        case .disable: return .disable
        case .prefer(let configuration): return .prefer(configuration)
        case .require(let configuration): return .require(configuration)
        }
    }

    /// A single connection's setting.
    func connection() throws -> PostgresConnection.Configuration.TLS {
        switch self {
        case .disable: return .disable
        case .prefer(let configuration): return .prefer(try NIOSSLContext(configuration: configuration))
        case .require(let configuration): return .require(try NIOSSLContext(configuration: configuration))
        }
    }
}
