import Crypto

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A salted SHA-256 digest of a short secret (an activation code): `SHA-256(salt || secret)`.
///
/// Only the salt and digest are stored; checking uses a constant-time comparison.
public struct SaltedDigest: Sendable, Equatable {
    /// 16 random bytes.
    public let salt: [UInt8]
    /// The 32-byte digest.
    public let digest: [UInt8]

    /// Digests `secret` with a fresh random salt.
    public init(secret: String) {
        self.init(secret: secret, salt: Secrets.randomBytes(16))
    }

    /// Digests `secret` with `salt`.
    public init(secret: String, salt: [UInt8]) {
        self.salt = salt
        self.digest = Self.compute(secret: secret, salt: salt)
    }

    /// Rebuilds a stored digest.
    public init(salt: [UInt8], digest: [UInt8]) {
        self.salt = salt
        self.digest = digest
    }

    /// Whether `secret` is the digested secret, in time independent of where they differ.
    public func matches(_ secret: String) -> Bool {
        constantTimeEquals(Self.compute(secret: secret, salt: self.salt), self.digest)
    }

    static func compute(secret: String, salt: [UInt8]) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: salt)
        hasher.update(data: Array(secret.utf8))
        return Array(hasher.finalize())
    }
}

/// Hex-encoded SHA-256 of `text`, e.g. the Redis key of a session token.
public func sha256Hex(_ text: String) -> String {
    SHA256.hash(data: Array(text.utf8)).hexString
}

/// Compares two byte sequences in time that depends only on their lengths.
public func constantTimeEquals(_ lhs: some Collection<UInt8>, _ rhs: some Collection<UInt8>) -> Bool {
    guard lhs.count == rhs.count else { return false }
    var difference: UInt8 = 0
    for (left, right) in zip(lhs, rhs) { difference |= left ^ right }
    return difference == 0
}

extension Sequence<UInt8> {
    /// Lower-case hexadecimal, two digits a byte.
    public var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var bytes: [UInt8] = []
        for byte in self {
            bytes.append(digits[Int(byte >> 4)])
            bytes.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension Array where Element == UInt8 {
    /// Decodes lower- or upper-case hexadecimal; nil for odd lengths or other characters.
    public init?(hex: String) {
        let digits = Array(hex.utf8)
        guard digits.count % 2 == 0 else { return nil }
        func value(_ digit: UInt8) -> UInt8? {
            switch digit {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return digit - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return digit - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return digit - UInt8(ascii: "A") + 10
            default: return nil
            }
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        var index = 0
        while index < digits.count {
            guard let high = value(digits[index]), let low = value(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        self = bytes
    }
}
