import Common
import Foundation
import Testing

@Suite struct CryptoTests {
    @Test func numericCodesAreZeroPaddedDigitsOfTheRightLength() {
        for length in [4, 6, 9] {
            for _ in 0..<200 {
                let code = Secrets.numericCode(length: length)
                #expect(code.count == length)
                #expect(code.allSatisfy(\.isASCII) && code.allSatisfy(\.isNumber))
            }
        }
        // 4 digits: 2,000 draws must cover leading zeros and many distinct values.
        let codes = (0..<2000).map { _ in Secrets.numericCode(length: 4) }
        #expect(codes.contains { $0.hasPrefix("0") })
        #expect(Set(codes).count > 1500)
    }

    @Test func opaqueTokensAre256BitBase64URL() {
        let tokens = (0..<100).map { _ in Secrets.opaqueToken() }
        for token in tokens {
            #expect(token.count == 43)
            #expect(token.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
        }
        #expect(Set(tokens).count == tokens.count)
    }

    @Test func saltedDigestMatchesOnlyTheSecret() {
        let digest = SaltedDigest(secret: "0427")
        #expect(digest.salt.count == 16)
        #expect(digest.digest.count == 32)
        #expect(digest.matches("0427"))
        #expect(!digest.matches("0428"))
        #expect(!digest.matches("427"))
        #expect(SaltedDigest(secret: "0427").digest != digest.digest, "fresh salt each time")
        #expect(SaltedDigest(salt: digest.salt, digest: digest.digest).matches("0427"))
    }

    @Test func constantTimeEquality() {
        #expect(constantTimeEquals([1, 2, 3], [1, 2, 3]))
        #expect(!constantTimeEquals([1, 2, 3], [1, 2, 4]))
        #expect(!constantTimeEquals([1, 2, 3], [1, 2]))
        #expect(sha256Hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }
}
