import CHiredis
import NIOCore

/// Encodes commands as RESP with hiredis' `redisFormatCommandArgv` (binary-safe: explicit lengths).
enum RESPEncoder {
    /// Appends the RESP encoding of `command` to `buffer`.
    static func encode(_ command: RedisCommand, into buffer: inout ByteBuffer) {
        let parts = command.parts
        let flat = parts.flatMap { $0 }
        var lengths = parts.map { $0.count }
        var target: UnsafeMutablePointer<CChar>?
        let written: Int32 = flat.withUnsafeBufferPointer { bytes in
            let base = UnsafeRawPointer(bytes.baseAddress) ?? UnsafeRawPointer(bitPattern: 1)!
            var offset = 0
            var pointers: [UnsafePointer<CChar>?] = parts.map { part in
                defer { offset += part.count }
                return (base + offset).assumingMemoryBound(to: CChar.self)
            }
            return pointers.withUnsafeMutableBufferPointer { argv in
                lengths.withUnsafeMutableBufferPointer { argvlen in
                    redisFormatCommandArgv(&target, Int32(parts.count), argv.baseAddress, argvlen.baseAddress)
                }
            }
        }
        guard written > 0, let target else { fatalError("redisFormatCommandArgv failed: out of memory") }
        defer { redisFreeCommand(target) }
        buffer.writeBytes(UnsafeRawBufferPointer(start: target, count: Int(written)))
    }
}
