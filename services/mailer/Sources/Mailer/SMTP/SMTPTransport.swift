import Common
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS

/// The `smtp` transport: each message goes to the relay at `SMTP_URL` over one of up to
/// `SMTP_MAX_CONNECTIONS` connections, opened when needed and reused while messages keep coming
/// (closed after `SMTP_TIMEOUT_SECONDS` unused). Each connection runs the pure
/// ``SMTPClientStateMachine``; transactions are pipelined when the relay offers PIPELINING.
///
/// A connection that cannot be set up (refused, TLS or AUTH failure) defers its message and,
/// with exponential backoff, the messages after it without trying again, so a dead relay costs no
/// connect timeout per message.
struct SMTPTransport: MailTransport {
    let settings: SMTPSettings
    let tlsContext: NIOSSLContext
    let eventLoopGroup: any EventLoopGroup
    let logger: Logger
    private let queue = SMTPJobQueue()

    init(settings: SMTPSettings, eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger) throws {
        self.settings = settings
        self.tlsContext = try settings.makeTLSContext()
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
    }

    /// At most 25 messages per connection in a batch, so a batch ends well inside its lease.
    func room(limit: Int) async throws -> Int { min(limit, self.settings.maxConnections * 25) }

    func deliver(_ mail: OutgoingMail, startingBefore deadline: ContinuousClock.Instant) async -> DeliveryOutcome {
        await withCheckedContinuation { continuation in
            self.queue.enqueue(SMTPJob(mail: mail, deadline: deadline, continuation: continuation))
        }
    }

    static let lateReason = "not started within half of its lease (a slow relay): sent again later"

    /// The connections, until ``stop()`` (queued messages are still sent).
    func run() async {
        await withDiscardingTaskGroup { group in
            for index in 0..<self.settings.maxConnections {
                group.addTask { await self.connectionLoop(index) }
            }
        }
    }

    func stop() { self.queue.finish() }

    /// One connection slot: takes messages, connecting (again) when needed.
    private func connectionLoop(_ index: Int) async {
        var logger = self.logger
        logger[metadataKey: "smtp.connection"] = "\(index)"
        var carried: SMTPJob?
        var failures = 0
        var blocked: (until: ContinuousClock.Instant, reason: String)?
        while true {
            let taken: SMTPJob?
            if let carried {
                taken = carried
            } else {
                taken = await self.queue.next()
            }
            carried = nil
            guard let job = taken else { return }
            if job.expired {
                job.finish(.deferred(Self.lateReason))
                continue
            }
            if let blocked, ContinuousClock.now < blocked.until {
                job.finish(.deferred(blocked.reason))
                continue
            }
            do {
                let channel = try await self.connect()
                carried = try await channel.executeThenClose { inbound, outbound in
                    var session = SMTPSession(
                        machine: SMTPClientStateMachine(
                            heloName: self.settings.heloName,
                            security: self.settings.security,
                            credentials: self.settings.credentials
                        ),
                        replies: inbound.makeAsyncIterator(),
                        outbound: outbound,
                        channel: channel.channel,
                        tlsContext: self.tlsContext,
                        serverHostname: self.serverHostname
                    )
                    try await session.open()
                    failures = 0
                    blocked = nil
                    logger.debug("connected", metadata: ["smtp.relay": "\(self.settings.host):\(self.settings.port)"])
                    var next: SMTPJob? = job
                    while let current = next {
                        if current.expired {
                            current.finish(.deferred(Self.lateReason))
                            next = await self.queue.next()
                            continue
                        }
                        guard channel.channel.isActive else { return current }  // closed while unused: reconnect for it
                        let (outcome, reusable) = await session.transact(current.mail)
                        current.finish(outcome)
                        guard reusable else { return nil }
                        next = await self.queue.next()
                    }
                    try? await session.quit()
                    return nil
                }
            } catch {
                failures += 1
                let reason = "\(self.settings.host):\(self.settings.port): \(error)"
                let delay = Backoff(base: .milliseconds(250), cap: .seconds(30)).delay(attempt: failures)
                blocked = (ContinuousClock.now + delay, reason)
                logger.warning("SMTP session failed", metadata: ["error": "\(reason)", "smtp.failures": "\(failures)"])
                job.finish(.deferred(reason))
            }
        }
    }

    /// The name TLS verifies the certificate against; nil for an IP address, which NIOSSL then
    /// checks against the certificate's IP entries.
    private var serverHostname: String? {
        (try? SocketAddress(ipAddress: self.settings.host, port: 0)) == nil ? self.settings.host : nil
    }

    private func connect() async throws -> NIOAsyncChannel<SMTPInbound, ByteBuffer> {
        let implicitTLS = self.settings.security == .implicitTLS
        let tlsContext = self.tlsContext
        let serverHostname = self.serverHostname
        let timeout = TimeAmount.milliseconds(Int64(self.settings.timeout.wholeMilliseconds))
        return try await ClientBootstrap(group: self.eventLoopGroup)
            .connectTimeout(.milliseconds(Int64(self.settings.connectTimeout.wholeMilliseconds)))
            // A command and its reply are small: Nagle's algorithm would hold a command until the
            // relay's delayed ACK (40 ms on Linux) instead of sending it at once.
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connect(host: self.settings.host, port: self.settings.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let operations = channel.pipeline.syncOperations
                    if implicitTLS {
                        try operations.addHandler(NIOSSLClientHandler(context: tlsContext, serverHostname: serverHostname))
                    }
                    try operations.addHandler(IdleStateHandler(allTimeout: timeout))
                    try operations.addHandler(IdleConnectionCloser())
                    try operations.addHandler(SMTPClientInboundHandler())
                    return try NIOAsyncChannel<SMTPInbound, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
    }
}

/// A connection's session: runs the state machine's actions on the channel.
struct SMTPSession {
    var machine: SMTPClientStateMachine
    var replies: NIOAsyncChannelInboundStream<SMTPInbound>.AsyncIterator
    let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    let channel: any Channel
    let tlsContext: NIOSSLContext
    let serverHostname: String?

    /// The connection closed or failed before the relay answered.
    struct ConnectionLost: Error, CustomStringConvertible {
        var description: String
    }

    /// Greeting, EHLO, STARTTLS and AUTH; throws unless the session is ready.
    mutating func open() async throws {
        switch try await self.run(.none, message: []) {
        case .sessionReady: return
        case .fail(let reason): throw ConnectionLost(description: reason)
        case let other: throw ConnectionLost(description: "unexpected state after the greeting: \(other)")
        }
    }

    /// Sends one message; whether the session can carry another.
    mutating func transact(_ mail: OutgoingMail) async -> (DeliveryOutcome, reusable: Bool) {
        let payload = SMTPClientStateMachine.dataPayload(mail.raw)
        let start = self.machine.startTransaction(from: mail.envelopeFrom, to: mail.recipients, size: payload.count)
        do {
            switch try await self.run(start, message: payload) {
            case .finished(let outcome, let reusable): return (outcome, reusable)
            case .fail(let reason): return (.deferred(reason), false)
            case let other: return (.deferred("unexpected state in a transaction: \(other)"), false)
            }
        } catch {
            // A refusal that arrived before the connection was lost stands (a 5xx fails the row).
            if let failure = self.machine.transactionFailure {
                return (failure.isPermanent ? .rejected(failure) : .deferred(failure.description), false)
            }
            // Whether the relay kept the message is unknown: it is sent again later with the same
            // Message-ID, by which a receiver recognises it.
            return (.deferred("connection lost during the transaction: \(error)"), false)
        }
    }

    mutating func quit() async throws {
        if case .send(let text) = self.machine.quit() { try await self.outbound.write(ByteBuffer(string: text)) }
    }

    /// Performs actions until one needs the caller.
    private mutating func run(_ first: SMTPClientStateMachine.Action, message: [UInt8]) async throws -> SMTPClientStateMachine.Action {
        var action = first
        while true {
            switch action {
            case .send(let text):
                try await self.outbound.write(ByteBuffer(string: text))
                action = try await self.nextReply()
            case .sendMessage:
                try await self.outbound.write(ByteBuffer(bytes: message))
                action = try await self.nextReply()
            case .none:
                action = try await self.nextReply()
            case .startTLS:
                let (tlsContext, serverHostname) = (self.tlsContext, self.serverHostname)
                let channel = self.channel
                try await channel.eventLoop.submit {
                    try channel.pipeline.syncOperations.addHandler(
                        NIOSSLClientHandler(context: tlsContext, serverHostname: serverHostname),
                        position: .first
                    )
                    channel.flush()  // the ClientHello: nothing else is written before the handshake ends
                }.get()
                // Nothing is sent until the handshake is done; a reply before it came in clear.
                switch try await self.nextInbound() {
                case .tlsEstablished: action = self.machine.tlsEstablished()
                case .reply(let reply): action = self.machine.receive(reply)
                case .plaintextAfterSTARTTLS: action = .fail("the relay sent data in clear after its 220 to STARTTLS")
                }
            case .sessionReady, .finished, .fail:
                return action
            }
        }
    }

    private mutating func nextReply() async throws -> SMTPClientStateMachine.Action {
        switch try await self.nextInbound() {
        case .reply(let reply): return self.machine.receive(reply)
        case .tlsEstablished, .plaintextAfterSTARTTLS: return .fail("a TLS handshake outside STARTTLS")
        }
    }

    private mutating func nextInbound() async throws -> SMTPInbound {
        guard let inbound = try await self.replies.next() else { throw ConnectionLost(description: "the relay closed the connection") }
        return inbound
    }
}

/// Closes a connection that saw no traffic for the transport's timeout (unused, or a relay that
/// stopped answering): the one timer a connection has.
final class IdleConnectionCloser: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }
}

/// What a connection reads: the relay's replies, and the end of the STARTTLS handshake.
enum SMTPInbound: Sendable, Equatable {
    case reply(SMTPReply)
    /// TLS is up; nothing the relay sent in clear after its `220` was kept.
    case tlsEstablished
    /// Bytes the relay sent in clear after its `220` to STARTTLS (an injection attempt).
    case plaintextAfterSTARTTLS
}

/// Splits the relay's bytes into lines and assembles them into replies, and reports the end of
/// the TLS handshake in order with them, so the session takes no reply that arrived in clear
/// as if it came over TLS (the client side of CVE-2011-0411).
final class SMTPClientInboundHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = SMTPInbound

    private var buffer = ByteBuffer()
    private var parser = SMTPReplyParser()

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = Self.unwrapInboundIn(data)
        self.buffer.writeBuffer(&bytes)
        do {
            while let newline = self.buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
                var line = self.buffer.readString(length: newline - self.buffer.readerIndex) ?? ""
                self.buffer.moveReaderIndex(forwardBy: 1)
                if line.hasSuffix("\r") { line.removeLast() }
                if let reply = try self.parser.consume(line: Substring(line)) {
                    context.fireChannelRead(Self.wrapInboundOut(.reply(reply)))
                }
            }
            if self.buffer.readableBytes > SMTPReplyParser.maximumLineLength {
                throw SMTPReplyParser.Malformed(description: "a reply line longer than \(SMTPReplyParser.maximumLineLength) bytes")
            }
            self.buffer.discardReadBytes()
        } catch {
            context.fireErrorCaught(error)
            context.close(promise: nil)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSUserEvent, case .handshakeCompleted = event {
            // A partial line held from before the handshake was sent in clear.
            let clean = self.buffer.readableBytes == 0
            self.buffer.clear()
            context.fireChannelRead(Self.wrapInboundOut(clean ? .tlsEstablished : .plaintextAfterSTARTTLS))
            // The event comes inside a read that yields no plaintext, after which NIOSSL fires no
            // read-complete: without one, NIOAsyncChannel would hold this item back.
            context.fireChannelReadComplete()
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }
}
