import Common
import NIOCore
import NIOSSL

/// Runs an ``SMTPServerStateMachine`` on one connection: splits the bytes into lines (commands
/// pipelined in one packet are answered in order, with one flush), puts TLS on the connection
/// after STARTTLS (dropping whatever plaintext came with it), and holds further input while a
/// message is stored, so replies keep their order.
final class SMTPServerHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Stores a message; whether it is stored (a duplicate counts as stored).
    typealias Deliver = @Sendable (ReceivedMail) async -> Bool

    private var machine: SMTPServerStateMachine
    private let tlsContext: NIOSSLContext?
    private let deliver: Deliver
    /// Set when the connection is over the listener's limit: 421, then close.
    private let refuse: Bool
    private var pending = ByteBuffer()
    /// Dropping the rest of a line that was too long.
    private var discarding = false
    /// A message is being stored: lines wait in `pending`.
    private var paused = false
    private var closing = false

    init(machine: SMTPServerStateMachine, tlsContext: NIOSSLContext?, refuse: Bool, deliver: @escaping Deliver) {
        self.machine = machine
        self.tlsContext = tlsContext
        self.refuse = refuse
        self.deliver = deliver
    }

    func channelActive(context: ChannelHandlerContext) {
        if self.refuse {
            self.write(SMTPReply(421, "4.3.2 Too many connections; try again later"), context: context, close: true)
            return
        }
        self.write(self.machine.greeting, context: context, close: false)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !self.closing else { return }
        var bytes = Self.unwrapInboundIn(data)
        self.pending.writeBuffer(&bytes)
        // Pipelined input beyond one message and its commands is not a client we need to serve.
        if self.pending.readableBytes > self.machine.configuration.maxMessageBytes + 65536 {
            self.write(SMTPReply(421, "4.7.0 Too much input; closing"), context: context, close: true)
            return
        }
        self.process(context: context)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent, self.closing {
            context.close(promise: nil)  // the 421 could not even be written (a peer that reads nothing)
        } else if event is IdleStateHandler.IdleStateEvent, !self.paused {
            self.write(SMTPReply(421, "4.4.2 Idle for too long; closing"), context: context, close: true)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    /// Replies wait while the peer does not read them: input stays in `pending` (bounded above).
    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            self.process(context: context)
            context.flush()
        }
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    /// Handles every complete line in `pending`, until a message has to be stored.
    private func process(context: ChannelHandlerContext) {
        while !self.paused && !self.closing && context.channel.isWritable {
            guard let newline = self.pending.readableBytesView.firstIndex(of: 10) else {
                if self.pending.readableBytes > self.machine.maximumLineLength + 2 {
                    if !self.discarding { self.perform(self.machine.lineTooLong(bareLF: nil), context: context) }
                    self.discarding = true
                    self.pending.clear()
                }
                break
            }
            let length = newline - self.pending.readerIndex
            var line = self.pending.readBytes(length: length) ?? []
            self.pending.moveReaderIndex(forwardBy: 1)
            let bareLF = line.last != 13
            if !bareLF { line.removeLast() }
            if self.discarding {
                self.discarding = false
                self.machine.skippedLineEnded(bareLF: bareLF)
                continue
            }
            if line.count > self.machine.maximumLineLength {
                self.perform(self.machine.lineTooLong(bareLF: bareLF), context: context)
            } else {
                self.perform(self.machine.receive(line: line[...], bareLF: bareLF), context: context)
            }
        }
        self.pending.discardReadBytes()
    }

    private func perform(_ action: SMTPServerStateMachine.Action, context: ChannelHandlerContext) {
        switch action {
        case .none:
            break
        case .reply(let reply):
            context.write(Self.wrapOutboundOut(ByteBuffer(string: reply.wire)), promise: nil)
        case .replyAndClose(let reply):
            self.write(reply, context: context, close: true)
        case .startTLS(let reply):
            context.writeAndFlush(Self.wrapOutboundOut(ByteBuffer(string: reply.wire)), promise: nil)
            // Anything sent with STARTTLS was sent in clear: never act on it (CVE-2011-0411).
            self.pending.clear()
            guard let tlsContext = self.tlsContext else { return }
            do {
                try context.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tlsContext), position: .first)
                self.machine.tlsEstablished()
            } catch {
                context.close(promise: nil)
            }
        case .deliver(let mail):
            self.paused = true
            context.flush()
            let promise = context.eventLoop.makePromise(of: Bool.self)
            let deliver = self.deliver
            promise.completeWithTask { await deliver(mail) }
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            promise.futureResult.whenComplete { result in
                let (handler, context) = bound.value
                handler.delivered((try? result.get()) ?? false, context: context)
            }
        }
    }

    private func delivered(_ stored: Bool, context: ChannelHandlerContext) {
        self.paused = false
        guard context.channel.isActive, !self.closing else { return }
        context.writeAndFlush(Self.wrapOutboundOut(ByteBuffer(string: self.machine.delivered(stored).wire)), promise: nil)
        self.process(context: context)
        context.flush()
    }

    private func write(_ reply: SMTPReply, context: ChannelHandlerContext, close: Bool) {
        let written = context.writeAndFlush(Self.wrapOutboundOut(ByteBuffer(string: reply.wire)))
        if close {
            self.closing = true
            let channel = context.channel
            written.whenComplete { _ in channel.close(promise: nil) }
            // A peer that reads nothing (or a stalled TLS handshake) never lets the write finish.
            context.eventLoop.scheduleTask(in: .seconds(5)) { channel.close(promise: nil) }
        }
    }
}
