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

/// Matches replies to requests in order (pipelining): each written request queues its promise;
/// each decoded reply completes the oldest one. Thin: decoding is ``RESPReader``'s.
///
/// Deadlines: one timer per connection, for the oldest request only. Replies come in order, so a
/// request's deadline is never earlier than the one before it (a command queued behind a
/// blocking `XREADGROUP` cannot be answered first); when the oldest passes its deadline, every
/// request fails with ``RedisClientError/timeout`` and the connection is closed.
final class RedisChannelHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = RedisRequest
    typealias OutboundOut = ByteBuffer

    private var pending = CircularBuffer<(reply: EventLoopPromise<RESPValue>, deadline: NIODeadline)>(initialCapacity: 64)
    private let reader = RESPReader()
    private var closed = false
    private var timer: Scheduled<Void>?
    /// Why the connection failed, first reason only, shared with ``RedisConnection``: a command
    /// written after the failure (a handshake refused before the first write) fails with it.
    private let failure: NIOLockedValueBox<RedisClientError?>

    /// Creates a handler that records why its connection failed in `failure`.
    init(failure: NIOLockedValueBox<RedisClientError?> = NIOLockedValueBox(nil)) {
        self.failure = failure
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = self.unwrapOutboundIn(data)
        guard !self.closed else {
            let error = self.failure.withLockedValue { $0 } ?? .connectionClosed
            request.reply.fail(error)
            promise?.fail(error)
            return
        }
        let own = NIODeadline.now() + TimeAmount(request.timeout)
        let deadline = max(own, self.pending.last?.deadline ?? own)
        self.pending.append((request.reply, deadline))
        if self.timer == nil { self.scheduleTimer(context: context) }
        context.write(self.wrapOutboundOut(request.bytes), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = self.unwrapInboundIn(data)
        do {
            try self.reader.feed(buffer)
            while let value = try self.reader.next() {
                guard let request = self.pending.popFirst() else {
                    throw RedisClientError.protocolViolation("reply without a request")
                }
                // A caller that was cancelled already failed its promise: completing it again does nothing.
                if case .error(let error) = value, error.code == "READONLY" {
                    // The server was demoted to a replica (a failover): nothing on this connection
                    // can write any more. Close it; the next connection finds the new primary.
                    request.reply.fail(RedisClientError.unavailable("the server became a replica (\(error.message))"))
                    self.failAll(RedisClientError.connectionClosed)
                    context.close(promise: nil)
                    return
                } else if case .error(let error) = value {
                    request.reply.fail(error)
                } else {
                    request.reply.succeed(value)
                }
            }
        } catch {
            self.failAll(error)
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.failAll(RedisClientError.connectionClosed)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.failAll(RedisClientError(connectionFailure: error))
        context.close(promise: nil)
    }

    /// The timer fires at the oldest request's deadline (re-armed for the next one after replies).
    private func scheduleTimer(context: ChannelHandlerContext) {
        guard let oldest = self.pending.first?.deadline else {
            self.timer = nil
            return
        }
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        self.timer = context.eventLoop.scheduleTask(deadline: oldest) {
            let (handler, context) = bound.value
            handler.timerFired(context: context)
        }
    }

    private func timerFired(context: ChannelHandlerContext) {
        guard let oldest = self.pending.first else {
            self.timer = nil
            return
        }
        if oldest.deadline <= .now() {
            self.failAll(RedisClientError.timeout)
            context.close(promise: nil)
        } else {
            self.scheduleTimer(context: context)
        }
    }

    private func failAll(_ error: any Error) {
        self.closed = true
        if let error = error as? RedisClientError {
            self.failure.withLockedValue { if $0 == nil { $0 = error } }
        }
        self.timer?.cancel()
        self.timer = nil
        while let request = self.pending.popFirst() { request.reply.fail(error) }
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
