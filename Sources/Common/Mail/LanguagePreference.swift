/// A reader's language preferences, from an `Accept-Language` header (RFC 9110 §12.5.4), kept on
/// the outbox row as a short, comma-separated list of lower-cased tags, most preferred first
/// (`fr-ca,fr,en`). users-api writes it; the mailer picks the best language it has templates for.
public struct LanguagePreference: Sendable, Equatable {
    /// The tags, most preferred first (at most ``maximumTags``, each a valid BCP 47-like tag).
    public var tags: [String]

    /// How many tags are kept: a longer header is cut, never refused.
    public static let maximumTags = 8

    /// The preferences in `header` (nil or unparseable parts are skipped; `*` and `q=0` dropped).
    /// Tags keep the order of their weights; equal weights keep the header's order.
    public init(acceptLanguage header: String?) {
        guard let header, header.utf8.count <= 1024 else {
            self.tags = []
            return
        }
        var weighted: [(tag: String, weight: Double, position: Int)] = []
        for (position, part) in header.split(separator: ",").enumerated() {
            let pieces = part.split(separator: ";")
            guard let first = pieces.first else { continue }
            let tag = first.trimmingWhitespace().lowercased()
            guard Self.isValidTag(tag) else { continue }
            var weight = 1.0
            for parameter in pieces.dropFirst() {
                let trimmed = parameter.trimmingWhitespace()
                if trimmed.hasPrefix("q=") || trimmed.hasPrefix("Q=") {
                    guard let value = Double(trimmed.dropFirst(2)), (0...1).contains(value) else {
                        weight = -1
                        break
                    }
                    weight = value
                }
            }
            guard weight > 0, !weighted.contains(where: { $0.tag == tag }) else { continue }
            weighted.append((tag, weight, position))
        }
        self.tags = weighted.sorted { ($0.weight, -$0.position) > ($1.weight, -$1.position) }.prefix(Self.maximumTags).map(\.tag)
    }

    /// The preferences stored on an outbox row (its `language` column); invalid tags are dropped.
    public init(stored text: String?) {
        self.tags = (text ?? "").split(separator: ",").map { $0.lowercased() }.filter(Self.isValidTag).prefix(Self.maximumTags).map { $0 }
    }

    /// The text for the outbox row, nil when there is no preference.
    public var stored: String? { self.tags.isEmpty ? nil : self.tags.joined(separator: ",") }

    /// The best of `available` (lower-case tags such as `en`, `fr`): the first preference
    /// available as is, else by its primary subtag (`fr-ca` → `fr`), else `fallback`.
    public func best(of available: Set<String>, fallback: String) -> String {
        for tag in self.tags {
            if available.contains(tag) { return tag }
            if let primary = tag.split(separator: "-").first, available.contains(String(primary)) { return String(primary) }
        }
        return fallback
    }

    /// `alpha{1,8}(-alphanum{1,8})*`, at most 35 characters (RFC 4647's language range, no `*`).
    public static func isValidTag(_ tag: String) -> Bool {
        guard (1...35).contains(tag.utf8.count) else { return false }
        let subtags = tag.split(separator: "-", omittingEmptySubsequences: false)
        for (index, subtag) in subtags.enumerated() {
            guard (1...8).contains(subtag.utf8.count) else { return false }
            for byte in subtag.utf8 {
                let letter = (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                let digit = (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                guard letter || (index > 0 && digit) else { return false }
            }
        }
        return true
    }
}
