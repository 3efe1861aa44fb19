import CHiredis
import NIOCore

/// Decodes RESP replies with hiredis' reader; bytes may arrive in any split.
///
/// Not `Sendable`: owned by one channel handler on one event loop.
final class RESPReader {
    private let reader: UnsafeMutablePointer<redisReader>

    init() {
        guard let reader = redisReaderCreate() else { fatalError("redisReaderCreate failed: out of memory") }
        self.reader = reader
    }

    deinit {
        redisReaderFree(self.reader)
    }

    /// Hands `buffer`'s readable bytes to the reader.
    func feed(_ buffer: ByteBuffer) throws {
        let status = buffer.withUnsafeReadableBytes { bytes in
            redisReaderFeed(self.reader, bytes.baseAddress?.assumingMemoryBound(to: CChar.self), bytes.count)
        }
        if status != REDIS_OK { throw RedisClientError.protocolViolation(self.errorText) }
    }

    /// The next complete reply, or `nil` when more bytes are needed.
    func next() throws -> RESPValue? {
        var reply: UnsafeMutableRawPointer?
        guard redisReaderGetReply(self.reader, &reply) == REDIS_OK else {
            throw RedisClientError.protocolViolation(self.errorText)
        }
        guard let reply else { return nil }
        defer { freeReplyObject(reply) }
        return Self.convert(reply.assumingMemoryBound(to: redisReply.self))
    }

    private var errorText: String {
        withUnsafeBytes(of: self.reader.pointee.errstr) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    private static func convert(_ reply: UnsafeMutablePointer<redisReply>) -> RESPValue {
        let value = reply.pointee
        switch value.type {
        case REDIS_REPLY_STRING:
            var buffer = ByteBuffer()
            if let str = value.str { buffer.writeBytes(UnsafeRawBufferPointer(start: str, count: value.len)) }
            return .bulkString(buffer)
        case REDIS_REPLY_STATUS:
            return .simpleString(Self.text(value))
        case REDIS_REPLY_ERROR:
            return .error(RedisServerError(message: Self.text(value)))
        case REDIS_REPLY_INTEGER:
            return .integer(value.integer)
        case REDIS_REPLY_ARRAY:
            var elements: [RESPValue] = []
            elements.reserveCapacity(value.elements)
            for index in 0..<value.elements {
                if let element = value.element[index] { elements.append(Self.convert(element)) } else { elements.append(.null) }
            }
            return .array(elements)
        default:
            return .null
        }
    }

    private static func text(_ value: redisReply) -> String {
        guard let str = value.str else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: str, count: value.len), as: UTF8.self)
    }
}
