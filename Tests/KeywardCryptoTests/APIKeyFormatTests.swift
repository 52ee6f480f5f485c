import Foundation
import KeywardCrypto
import Testing

@Suite struct APIKeyFormatTests {
    @Test func generatedKeysCarryModePrefixAndValidate() throws {
        for mode in Mode.allCases {
            let key = APIKeyFormat.generate(mode: mode)
            #expect(key.hasPrefix("kw_\(mode.rawValue)_"))
            #expect(key.count == APIKeyFormat.prefix(for: mode).count + 39)
            #expect(try APIKeyFormat.validate(key) == mode)
        }
    }

    @Test func keysAreUniqueAndUseTheWholeAlphabet() {
        let keys = Set((0..<2000).map { _ in APIKeyFormat.generate(mode: .test) })
        #expect(keys.count == 2000)
        // 192 random bits over 33 base62 digits: the first digit is not always '0'.
        let firstDigits = Set(keys.map { $0.dropFirst(8).first! })
        #expect(firstDigits.count > 1)
    }

    @Test func everySingleCharacterTypoIsCaught() throws {
        let key = APIKeyFormat.generate(mode: .live)
        var caught = 0
        let characters = Array(key)
        for index in 8..<characters.count {
            var mutated = characters
            mutated[index] = mutated[index] == "a" ? "b" : "a"
            do { _ = try APIKeyFormat.validate(String(mutated)) } catch { caught += 1 }
        }
        #expect(caught == characters.count - 8)
    }

    @Test(arguments: [
        ("", APIKeyFormat.Malformation.empty),
        ("sk_test_abcdef", .unknownPrefix),
        ("kw_test_abc", .wrongLength),
        ("kw_test_ключ", .notASCII),
        ("kw_test_" + String(repeating: "!", count: 39), .badCharacters),
        (String(repeating: "x", count: 10_000), .tooLong),
    ])
    func malformedKeysSayWhy(input: String, expected: APIKeyFormat.Malformation) {
        #expect(throws: expected) { try APIKeyFormat.validate(input) }
    }

    @Test func truncatedKeyIsRejected() {
        let key = APIKeyFormat.generate(mode: .test)
        #expect(throws: APIKeyFormat.Malformation.wrongLength) { try APIKeyFormat.validate(String(key.dropLast())) }
    }

    @Test func digestIsHexSHA256() {
        // sha256("abc")
        #expect(APIKeyFormat.digest(of: "abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func base62IsFixedWidthBigEndian() {
        #expect(Base62.encode([0], width: 3) == "000")
        #expect(Base62.encode([61], width: 2) == "0z")
        #expect(Base62.encode([0x01, 0x00], width: 3) == "048")  // 256 = 4*62 + 8
    }

    @Test func paymentKeysLookLikeProviderKeys() {
        let key = PaymentKeyFormat.generate()
        #expect(key.split(separator: "-").map(\.count) == [8, 4, 4, 4, 12])
        #expect(PaymentKeyFormat.isAcceptableImport(key))
        #expect(!PaymentKeyFormat.isAcceptableImport("short"))
        #expect(!PaymentKeyFormat.isAcceptableImport("has a space in the middle!!"))
    }

    @Test func constantTimeEquality() {
        #expect(ConstantTime.equals([1, 2, 3], [1, 2, 3]))
        #expect(!ConstantTime.equals([1, 2, 3], [1, 2, 4]))
        #expect(!ConstantTime.equals([1, 2, 3], [1, 2]))
    }
}
