import NIOCore

/// One command on its way: its RESP bytes and the promise its reply completes.
struct RedisRequest {
    var bytes: ByteBuffer
    var reply: EventLoopPromise<RESPValue>
}

/// Matches replies to requests in order (pipelining): each written request queues its promise;
/// each decoded reply completes the oldest one. Thin: decoding is ``RESPReader``'s.
final class RedisChannelHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = RedisRequest
    typealias OutboundOut = ByteBuffer

    private var pending = CircularBuffer<EventLoopPromise<RESPValue>>(initialCapacity: 64)
    private let reader = RESPReader()
    private var closed = false

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = self.unwrapOutboundIn(data)
        guard !self.closed else {
            request.reply.fail(RedisClientError.connectionClosed)
            promise?.fail(RedisClientError.connectionClosed)
            return
        }
        self.pending.append(request.reply)
        context.write(self.wrapOutboundOut(request.bytes), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = self.unwrapInboundIn(data)
        do {
            try self.reader.feed(buffer)
            while let value = try self.reader.next() {
                guard let promise = self.pending.popFirst() else {
                    throw RedisClientError.protocolViolation("reply without a request")
                }
                if case .error(let error) = value {
                    promise.fail(error)
                } else {
                    promise.succeed(value)
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
        self.failAll(RedisClientError.connectionClosed)
        context.close(promise: nil)
    }

    private func failAll(_ error: any Error) {
        self.closed = true
        while let promise = self.pending.popFirst() { promise.fail(error) }
    }
}
