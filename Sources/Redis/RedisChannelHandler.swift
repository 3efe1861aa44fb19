import NIOConcurrencyHelpers
import NIOCore
import NIOSSL

/// One command on its way: its RESP bytes, the promise its reply completes, and how long the
/// reply may take.
struct RedisRequest {
    var bytes: ByteBuffer
    var reply: EventLoopPromise<RESPValue>
    var timeout: Duration
}

/// Matches replies to requests in order (pipelining). Thin: decoding is ``RESPReader``'s, every
/// decision is ``RedisConnectionStateMachine``'s; this carries out its actions (complete and fail
/// promises, arm one deadline timer per connection, close the channel).
final class RedisChannelHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = RedisRequest
    typealias OutboundOut = ByteBuffer

    private var machine: RedisConnectionStateMachine<EventLoopPromise<RESPValue>>
    private let reader = RESPReader()
    private var timer: Scheduled<Void>?
    /// Why the connection failed, shared with ``RedisConnection``: a command whose write fails
    /// after the failure (the handler already gone) fails with it too.
    private let failure: NIOLockedValueBox<RedisClientError?>

    /// Creates a handler whose connection's handshake is `handshakeSteps` commands, and that
    /// records why its connection failed in `failure`.
    init(handshakeSteps: Int = 0, failure: NIOLockedValueBox<RedisClientError?> = NIOLockedValueBox(nil)) {
        self.machine = RedisConnectionStateMachine(handshakeSteps: handshakeSteps)
        self.failure = failure
    }

    func channelActive(context: ChannelHandlerContext) {
        self.machine.channelActive()
        context.fireChannelActive()
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { self.machine.channelActive() }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = self.unwrapOutboundIn(data)
        switch self.machine.write(request.reply, timeout: request.timeout, now: .now()) {
        case .write(let armTimer):
            if let armTimer { self.arm(at: armTimer, context: context) }
            context.write(self.wrapOutboundOut(request.bytes), promise: promise)
        case .fail(let error):
            request.reply.fail(error)
            promise?.fail(error)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        do {
            try self.reader.feed(self.unwrapInboundIn(data))
            while let value = try self.reader.next() {
                switch self.machine.received(value) {
                case .complete(let reply, let result):
                    // A caller that was cancelled already failed its promise: completing it again does nothing.
                    reply.completeWith(result)
                case .failAndClose(let reply, let error, let others, let othersError):
                    reply.fail(error)
                    self.finish(FailingAction(failing: others, error: othersError), context: context)
                    return
                case .protocolViolation(let failing, let error):
                    self.finish(FailingAction(failing: failing, error: error), context: context)
                    return
                }
            }
        } catch {
            let error = (error as? RedisClientError) ?? .protocolViolation("\(error)")
            self.finish(FailingAction(self.machine.failed(error)), context: context)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        let failing = self.machine.closed()
        self.record()
        self.cancelTimer()
        for reply in failing { reply.fail(self.machine.failure ?? .connectionClosed) }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let action = self.machine.failed(RedisClientError(connectionFailure: error))
        self.finish(FailingAction(action), context: context, close: action.close)
    }

    /// One timer per connection, at the oldest command's deadline.
    private func arm(at deadline: NIODeadline, context: ChannelHandlerContext) {
        self.timer?.cancel()
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        self.timer = context.eventLoop.scheduleTask(deadline: deadline) {
            let (handler, context) = bound.value
            handler.timer = nil
            switch handler.machine.timerFired(now: .now()) {
            case .rearm(let deadline): handler.arm(at: deadline, context: context)
            case .timeout(let action): handler.finish(FailingAction(action), context: context, close: action.close)
            case .none: break
            }
        }
    }

    private func cancelTimer() {
        self.timer?.cancel()
        self.timer = nil
    }

    private func finish(_ action: FailingAction, context: ChannelHandlerContext, close: Bool = true) {
        self.record()
        self.cancelTimer()
        for reply in action.failing { reply.fail(action.error) }
        if close { context.close(promise: nil) }
    }

    private func record() {
        if let reason = self.machine.failure {
            self.failure.withLockedValue { if $0 == nil { $0 = reason } }
        }
    }

    private struct FailingAction {
        var failing: [EventLoopPromise<RESPValue>]
        var error: RedisClientError

        init(failing: [EventLoopPromise<RESPValue>], error: RedisClientError) {
            self.failing = failing
            self.error = error
        }

        init(_ action: RedisConnectionStateMachine<EventLoopPromise<RESPValue>>.FailAction) {
            self.init(failing: action.failing, error: action.error)
        }
    }
}

extension RedisClientError {
    /// What a connection's failure means for the commands on it: a refused TLS handshake is
    /// `unavailable` with its reason (no command could have reached Redis; the log and readiness
    /// say why, `CERTIFICATE_VERIFY_FAILED` …), anything else `connectionClosed`.
    init(connectionFailure error: any Error) {
        if case .handshakeFailed = error as? NIOSSLError {
            self = .unavailable("TLS handshake failed: \(error)")
        } else {
            self = .connectionClosed
        }
    }
}
