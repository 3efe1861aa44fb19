import Common
import Foundation
import NIOSSL

/// Where and how the `smtp` transport delivers (see the README's configuration table).
public struct SMTPSettings: Sendable {
    /// The relay's host name or address.
    public var host: String
    /// The relay's port (`SMTP_URL`'s, else 587 for `smtp://` and 465 for `smtps://`).
    public var port: Int
    /// TLS from the first byte, STARTTLS, or none.
    var security: SMTPClientStateMachine.Security
    /// AUTH credentials (`SMTP_USERNAME`/`SMTP_PASSWORD`, else the URL's).
    var credentials: SMTPClientStateMachine.Credentials?
    /// `SMTP_TLS_CA_FILE`: the CA that signs the relay's certificate (default: the system's).
    public var caFile: String?
    /// `SMTP_CONNECT_TIMEOUT_SECONDS` (10).
    public var connectTimeout: Duration
    /// `SMTP_TIMEOUT_SECONDS` (30): the longest wait for any reply, and how long an unused
    /// connection stays open.
    public var timeout: Duration
    /// `SMTP_MAX_CONNECTIONS` (4): connections to the relay at most, each carrying one message at a time.
    public var maxConnections: Int
    /// `SMTP_HELO_NAME` (the host name): the name given in EHLO.
    public var heloName: String

    /// Reads and validates the `SMTP_*` variables.
    public init(environment: EnvironmentReader) throws {
        let text = environment.string("SMTP_URL", default: "smtp://127.0.0.1:1025")
        let url = try ConnectionURL(text, key: "SMTP_URL", schemes: ["smtp", "smtps"], example: "smtp://user:password@relay.example.com:587")
        self.host = url.host
        self.port = url.port ?? (url.scheme == "smtps" ? 465 : 587)
        if url.scheme == "smtps" {
            self.security = .implicitTLS
        } else {
            switch environment.string("SMTP_STARTTLS", default: "required").lowercased() {
            case "required": self.security = .startTLS(required: true)
            case "optional": self.security = .startTLS(required: false)
            case "off": self.security = .plain
            case let other: throw ConfigurationError(key: "SMTP_STARTTLS", expected: "required, optional or off", found: other)
            }
        }
        let username = environment.raw("SMTP_USERNAME") ?? url.user
        let password = environment.raw("SMTP_PASSWORD") ?? url.password
        switch (username, password) {
        case (let username?, let password?):
            self.credentials = .init(username: username, password: password)
        case (nil, nil):
            self.credentials = nil
        default:
            throw ConfigurationError(key: "SMTP_USERNAME", expected: "a user name and a password, or neither", found: nil)
        }
        if self.credentials != nil, self.security == .plain {
            throw ConfigurationError(key: "SMTP_STARTTLS", expected: "required or optional when credentials are set (never in clear)", found: "off")
        }
        self.caFile = environment.raw("SMTP_TLS_CA_FILE")
        if let caFile = self.caFile, !FileManager.default.isReadableFile(atPath: caFile) {
            throw ConfigurationError(key: "SMTP_TLS_CA_FILE", expected: "a readable PEM file", found: caFile)
        }
        self.connectTimeout = .seconds(try environment.int("SMTP_CONNECT_TIMEOUT_SECONDS", default: 10, in: 1...300))
        self.timeout = .seconds(try environment.int("SMTP_TIMEOUT_SECONDS", default: 30, in: 1...600))
        self.maxConnections = try environment.int("SMTP_MAX_CONNECTIONS", default: 4, in: 1...100)
        self.heloName = environment.string("SMTP_HELO_NAME", default: ProcessInfo.processInfo.hostName)
    }

    /// The TLS context for the relay: certificates verified against `caFile` (or the system's roots).
    func makeTLSContext() throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        if let caFile = self.caFile {
            configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile))
        }
        return try NIOSSLContext(configuration: configuration)
    }
}
