import Common
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import ServiceLifecycle

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The SMTP listener (`SMTP_MOCK_SMTP_PORT`): any SMTP client delivers into the same inbox as
/// the stream, deduplicated by Message-ID. A message is acknowledged (250) only once it is
/// stored; a 451 when Redis cannot take it, so the sender retries.
struct SMTPListener: Service {
    let settings: SMTPListenerSettings
    let postman: Postman
    let eventLoopGroup: any EventLoopGroup
    let logger: Logger

    init(settings: SMTPListenerSettings, postman: Postman, eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger)
    {
        self.settings = settings
        self.postman = postman
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
    }

    func run() async throws {
        let tlsContext = try self.settings.makeTLSContext()
        let machine = SMTPServerStateMachine(
            configuration: .init(
                hostname: self.settings.hostname,
                maxMessageBytes: self.settings.maxMessageBytes,
                maxRecipients: self.settings.maxRecipients,
                tlsAvailable: tlsContext != nil,
                credentials: self.settings.credentials
            )
        )
        let connections = NIOLockedValueBox(0)
        let (maxConnections, idle) = (self.settings.maxConnections, TimeAmount.seconds(Int64(self.settings.idleSeconds)))
        let postman = self.postman
        let logger = self.logger
        let deliver: SMTPServerHandler.Deliver = { mail in
            let message = InboxMessage(raw: mail.data, recipients: mail.recipients, fallbackID: UUID().uuidString.lowercased(), receivedAt: Date())
            do {
                try await postman.deliver(message)
                return true
            } catch {
                logger.warning("could not store a message received over SMTP", metadata: ["error": "\(error)"])
                return false
            }
        }
        let channel = try await ServerBootstrap(group: self.eventLoopGroup)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                let refuse = connections.withLockedValue { count in
                    count += 1
                    return count > maxConnections
                }
                channel.closeFuture.whenComplete { _ in connections.withLockedValue { $0 -= 1 } }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: idle))
                    try channel.pipeline.syncOperations.addHandler(
                        SMTPServerHandler(machine: machine, tlsContext: tlsContext, refuse: refuse, deliver: deliver)
                    )
                }
            }
            .bind(host: self.settings.host, port: self.settings.port)
            .get()
        self.logger.info(
            "SMTP listening",
            metadata: [
                "smtp.address": "\(self.settings.host):\(channel.localAddress?.port ?? self.settings.port)", "smtp.starttls": "\(tlsContext != nil)",
            ]
        )
        try await withGracefulShutdownHandler {
            try await channel.closeFuture.get()
        } onGracefulShutdown: {
            channel.close(promise: nil)
        }
    }
}

/// The SMTP listener's settings (see the README's configuration table).
public struct SMTPListenerSettings: Sendable {
    /// `SMTP_MOCK_SMTP_HOST` (`HTTP_HOST`'s default, 127.0.0.1).
    public var host: String
    /// `SMTP_MOCK_SMTP_PORT` (1025; 0 for any free port, as tests do).
    public var port: Int
    /// `SMTP_MOCK_HOSTNAME` (`smtp-mock`): the name in the greeting.
    public var hostname: String
    /// `SMTP_MOCK_TLS_CERT_FILE` and `SMTP_MOCK_TLS_KEY_FILE`: STARTTLS is offered when both are set.
    public var certificateFile: String?
    public var keyFile: String?
    /// `SMTP_MOCK_AUTH_USERNAME` and `SMTP_MOCK_AUTH_PASSWORD`: AUTH PLAIN/LOGIN is offered and
    /// required when both are set (off by default).
    var credentials: (username: String, password: String)?
    /// `SMTP_MOCK_MAX_MESSAGE_BYTES` (10485760): the SIZE limit.
    public var maxMessageBytes: Int
    /// `SMTP_MOCK_MAX_RECIPIENTS` (100).
    public var maxRecipients: Int
    /// `SMTP_MOCK_IDLE_SECONDS` (60): a connection that sends nothing this long gets 421.
    public var idleSeconds: Int
    /// `SMTP_MOCK_MAX_CONNECTIONS` (1000): more get 421 at once.
    public var maxConnections: Int

    /// Reads and validates the `SMTP_MOCK_SMTP_*` variables.
    public init(environment: EnvironmentReader) throws {
        self.host = environment.string("SMTP_MOCK_SMTP_HOST", default: environment.string("HTTP_HOST", default: "127.0.0.1"))
        self.port = try environment.int("SMTP_MOCK_SMTP_PORT", default: 1025, in: 0...65535)
        self.hostname = environment.string("SMTP_MOCK_HOSTNAME", default: "smtp-mock")
        self.certificateFile = environment.raw("SMTP_MOCK_TLS_CERT_FILE")
        self.keyFile = environment.raw("SMTP_MOCK_TLS_KEY_FILE")
        if (self.certificateFile == nil) != (self.keyFile == nil) {
            throw ConfigurationError(key: "SMTP_MOCK_TLS_CERT_FILE", expected: "set together with SMTP_MOCK_TLS_KEY_FILE", found: nil)
        }
        switch (environment.raw("SMTP_MOCK_AUTH_USERNAME"), environment.raw("SMTP_MOCK_AUTH_PASSWORD")) {
        case (let username?, let password?): self.credentials = (username, password)
        case (nil, nil): self.credentials = nil
        default: throw ConfigurationError(key: "SMTP_MOCK_AUTH_USERNAME", expected: "set together with SMTP_MOCK_AUTH_PASSWORD", found: nil)
        }
        self.maxMessageBytes = try environment.int("SMTP_MOCK_MAX_MESSAGE_BYTES", default: 10_485_760, in: 1024...104_857_600)
        self.maxRecipients = try environment.int("SMTP_MOCK_MAX_RECIPIENTS", default: 100, in: 1...10000)
        self.idleSeconds = try environment.int("SMTP_MOCK_IDLE_SECONDS", default: 60, in: 1...3600)
        self.maxConnections = try environment.int("SMTP_MOCK_MAX_CONNECTIONS", default: 1000, in: 1...100_000)
    }

    /// The STARTTLS context, nil without a certificate.
    func makeTLSContext() throws -> NIOSSLContext? {
        guard let certificateFile, let keyFile else { return nil }
        let configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(certificateFile).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: keyFile, format: .pem))
        )
        return try NIOSSLContext(configuration: configuration)
    }
}
