#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Email normalisation and validation: trimmed, lower-cased, RFC 5321 lengths (local part ≤ 64,
/// address ≤ 254), one `@`, a domain of dot-separated letter/digit/hyphen labels. Every service
/// normalises the same way, so `Me@Example.com` and `me@example.com` are one account everywhere.
public enum EmailAddress {
    /// The normalised form used for storage, lookups, rate-limit keys and mail.
    public static func normalize(_ raw: String) -> String {
        raw.trimmingWhitespace().lowercased()
    }

    /// Why `email` (normalised) is invalid, or nil when it is valid.
    public static func problem(_ email: String) -> String? {
        guard !email.isEmpty else { return "is required" }
        guard email.utf8.count <= 254 else { return "must be at most 254 characters" }
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return "must be an email address" }
        let local = parts[0]
        let domain = parts[1]
        guard local.utf8.count <= 64 else { return "must have a local part of at most 64 characters" }
        let localAllowed = Set("abcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+/=?^_`{|}~.-")
        guard local.allSatisfy({ localAllowed.contains($0) }), !local.hasPrefix("."), !local.hasSuffix("."), !local.contains("..")
        else { return "must be an email address" }
        let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 2 else { return "must be an email address" }
        for label in labels {
            guard (1...63).contains(label.count), !label.hasPrefix("-"), !label.hasSuffix("-"),
                label.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") })
            else { return "must be an email address" }
        }
        return nil
    }
}
