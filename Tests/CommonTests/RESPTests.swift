import NIOCore
import Testing

@testable import Redis

@Suite struct RESPTests {
    @Test func encodesBinarySafeArgumentsWithHiredis() {
        var buffer = ByteBuffer()
        RESPEncoder.encode(RedisCommand("SET", "k", [0, 13, 10] as [UInt8]), into: &buffer)
        #expect(Array(buffer.readableBytesView) == Array("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\n".utf8) + [0, 13, 10] + Array("\r\n".utf8))
    }

    @Test func decodesRepliesSplitAcrossReads() throws {
        let reader = RESPReader()
        let wire = "+OK\r\n:42\r\n$5\r\nhel\r\n\r\n$-1\r\n*2\r\n$1\r\na\r\n-ERR nested\r\n-WRONGTYPE bad\r\n"
        var values: [RESPValue] = []
        for byte in wire.utf8 {
            try reader.feed(ByteBuffer(bytes: [byte]))
            while let value = try reader.next() { values.append(value) }
        }
        #expect(values.count == 6)
        #expect(values[0] == .simpleString("OK"))
        #expect(values[1] == .integer(42))
        #expect(values[2] == .bulkString(ByteBuffer(string: "hel\r\n")))
        #expect(values[3] == .null)
        #expect(values[4] == .array([.bulkString(ByteBuffer(string: "a")), .error(RedisServerError(message: "ERR nested"))]))
        #expect(values[5] == .error(RedisServerError(message: "WRONGTYPE bad")))
    }

    @Test func rejectsBytesThatAreNotRESP() throws {
        let reader = RESPReader()
        try reader.feed(ByteBuffer(string: "?what\r\n"))
        #expect(throws: RedisClientError.self) { try reader.next() }
    }
}
