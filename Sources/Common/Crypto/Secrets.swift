import Crypto

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Generation of secrets from the system CSPRNG (`getrandom(2)` through swift-crypto / the stdlib).
public enum Secrets {
    /// A uniformly random code of `length` decimal digits, zero-padded (`0042`).
    public static func numericCode(length: Int) -> String {
        precondition((1...9).contains(length), "code length must be 1...9")
        var generator = SystemRandomNumberGenerator()
        var bound = 1
        for _ in 0..<length { bound *= 10 }
        let value = Int.random(in: 0..<bound, using: &generator)
        let digits = String(value)
        return String(repeating: "0", count: length - digits.count) + digits
    }

    /// An opaque bearer token: 256 random bits, base64url without padding (43 characters).
    public static func opaqueToken() -> String {
        let key = SymmetricKey(size: .bits256)
        return key.withUnsafeBytes { Data($0) }.base64URLEncodedString()
    }

    /// `count` random bytes.
    public static func randomBytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }
}

extension Data {
    /// RFC 4648 §5 base64url, without padding.
    public func base64URLEncodedString() -> String {
        String(
            self.base64EncodedString().compactMap { character -> Character? in
                switch character {
                case "+": "-"
                case "/": "_"
                case "=": nil
                default: character
                }
            }
        )
    }
}
