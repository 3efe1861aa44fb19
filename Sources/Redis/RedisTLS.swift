import NIOSSL

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// TLS to Redis (`rediss://` URLs): the server's certificate is verified against
/// `REDIS_TLS_CA_FILE` (else the system's roots) and its host name or IP address; a client
/// certificate (`REDIS_TLS_CERT_FILE` and `REDIS_TLS_KEY_FILE`) is sent when the server asks
/// (`tls-auth-clients yes`). The context is built once, when the configuration is read.
public struct RedisTLS: Sendable, Equatable {
    /// `REDIS_TLS_CA_FILE`.
    public var caFile: String?
    /// `REDIS_TLS_CERT_FILE`.
    public var certificateFile: String?
    /// `REDIS_TLS_KEY_FILE`.
    public var keyFile: String?
    /// The client context every connection uses.
    let context: NIOSSLContext

    /// Builds the context; fails on an unreadable or malformed file.
    public init(caFile: String? = nil, certificateFile: String? = nil, keyFile: String? = nil) throws {
        self.caFile = caFile
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        var configuration = TLSConfiguration.makeClientConfiguration()
        if let caFile {
            configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile))
        }
        if let certificateFile, let keyFile {
            configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(certificateFile).map { .certificate($0) }
            configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: keyFile, format: .pem))
        }
        self.context = try NIOSSLContext(configuration: configuration)
    }

    public static func == (lhs: RedisTLS, rhs: RedisTLS) -> Bool {
        (lhs.caFile, lhs.certificateFile, lhs.keyFile) == (rhs.caFile, rhs.certificateFile, rhs.keyFile)
    }
}
