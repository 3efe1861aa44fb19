import Common
import Testing

/// `Accept-Language` (RFC 9110 §12.5.4) as users-api reads it and the mailer uses it: the
/// preferences in weight order, nothing invalid kept, and the best language the mailer has.
@Suite struct LanguagePreferenceTests {
    @Test(arguments: [
        ("fr-CA,fr;q=0.9,en;q=0.8", ["fr-ca", "fr", "en"]),
        ("en;q=0.5, fr", ["fr", "en"]),
        ("de;q=0.3, it;q=0.7, es;q=0.7, pt", ["pt", "it", "es", "de"]),
        ("  EN-gb  ;  q=0.4 , ja ; Q=0.6", ["ja", "en-gb"]),
        ("fr;level=1;q=0.5, en;q=0.4", ["fr", "en"]),
        ("da, en-gb;q=0.8, en;q=0.7", ["da", "en-gb", "en"]),
        ("zh-Hant-TW", ["zh-hant-tw"]),
        ("sgn-ch-de, x-klingon", ["sgn-ch-de", "x-klingon"]),
    ])
    func preferencesAreOrderedByWeightThenPosition(header: String, tags: [String]) {
        #expect(LanguagePreference(acceptLanguage: header).tags == tags)
    }

    @Test(arguments: [
        ("*, fr", ["fr"]),
        ("fr;q=0, en", ["en"]),
        ("fr;q=0.000, en;q=0.001", ["en"]),
        ("fr;q=2, en", ["en"]),
        ("fr;q=-1, en", ["en"]),
        ("fr;q=abc, en", ["en"]),
        ("fr;q=nan, en", ["en"]),
        ("fr;q=, en", ["en"]),
        ("en_US, fr", ["fr"]),
        ("1en, fr", ["fr"]),
        ("fr--ca, fr", ["fr"]),
        ("fr-, -fr, fr", ["fr"]),
        ("toolongtag, fr", ["fr"]),
        ("fr-abcdefghi, fr", ["fr"]),
        ("fr-ça, fr", ["fr"]),
        ("fr, fr;q=0.5, en;q=0.8", ["fr", "en"]),
        (",,;, ;q=1,fr", ["fr"]),
        ("", []),
        ("*", []),
    ])
    func wildcardsZeroWeightsAndInvalidPartsAreDropped(header: String, tags: [String]) {
        #expect(LanguagePreference(acceptLanguage: header).tags == tags)
    }

    @Test func atMostEightTagsAreKeptTheHeaviest() {
        let header = (1...12).map { "l\(String(UnicodeScalar(UInt8(96 + $0))));q=0.\($0 < 10 ? "0\($0)" : "\($0)")" }.joined(separator: ", ")
        let tags = LanguagePreference(acceptLanguage: header).tags
        #expect(tags.count == LanguagePreference.maximumTags)
        #expect(tags == ["ll", "lk", "lj", "li", "lh", "lg", "lf", "le"])
    }

    @Test func noHeaderOrAnOversizedOneMeansNoPreference() {
        #expect(LanguagePreference(acceptLanguage: nil).tags.isEmpty)
        #expect(LanguagePreference(acceptLanguage: nil).stored == nil)
        let huge = Array(repeating: "fr", count: 400).joined(separator: ",")
        #expect(huge.utf8.count > 1024)
        #expect(LanguagePreference(acceptLanguage: huge).tags.isEmpty)
    }

    @Test func theStoredFormRoundTrips() {
        let preference = LanguagePreference(acceptLanguage: "fr-CA, fr;q=0.9, en;q=0.1")
        #expect(preference.stored == "fr-ca,fr,en")
        #expect(LanguagePreference(stored: preference.stored) == preference)
        #expect(LanguagePreference(stored: nil).tags.isEmpty)
        #expect(LanguagePreference(stored: "").stored == nil)
    }

    @Test func aStoredValueIsCheckedAgain() {
        // The column is free text for anyone with database access: never trust it as is.
        #expect(LanguagePreference(stored: "FR,bad_tag,en,,*,de-").tags == ["fr", "en"])
        let many = (0..<20).map { "l\(String(UnicodeScalar(UInt8(97 + $0))))" }.joined(separator: ",")
        #expect(LanguagePreference(stored: many).tags.count == LanguagePreference.maximumTags)
    }

    @Test(arguments: [
        ("fr", "fr"),
        ("fr-CA,fr;q=0.9", "fr"),
        ("fr-ca", "fr"),
        ("de, en;q=0.5", "en"),
        ("de, fr-ch;q=0.5, en;q=0.4", "fr"),
        ("en-US, fr", "en"),
        ("de, it", "en"),
        ("", "en"),
        ("frx, fr", "fr"),
    ])
    func theBestAvailableLanguageIsExactThenByPrimarySubtagThenTheFallback(header: String, best: String) {
        #expect(LanguagePreference(acceptLanguage: header).best(of: ["en", "fr"], fallback: "en") == best)
    }

    @Test func anExactRegionalMatchBeatsItsPrimarySubtag() {
        #expect(LanguagePreference(acceptLanguage: "fr-CA").best(of: ["en", "fr", "fr-ca"], fallback: "en") == "fr-ca")
        #expect(LanguagePreference(acceptLanguage: "fr-BE").best(of: ["en", "fr", "fr-ca"], fallback: "en") == "fr")
        #expect(LanguagePreference(acceptLanguage: "de").best(of: [], fallback: "xx") == "xx")
    }

    @Test(arguments: [
        ("en", true), ("fr-ca", true), ("zh-hant-tw", true), ("de-1996", true), ("x", true), ("abcdefgh", true),
        ("", false), ("*", false), ("abcdefghi", false), ("1", false), ("en-", false), ("-en", false), ("en--us", false),
        ("en_us", false), ("EN", false), ("en us", false), ("é", false), ("en-abcdefghi", false),
        (String(repeating: "a-", count: 17) + "a", true), (String(repeating: "a-", count: 18) + "a", false),
    ])
    func validTags(tag: String, valid: Bool) {
        #expect(LanguagePreference.isValidTag(tag) == valid, "\(tag)")
    }
}
