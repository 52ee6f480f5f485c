import Foundation
import KeywardCrypto
import Testing

/// TOTP against RFC 6238 Appendix B and RFC 4648's base32 vectors; drift window and replay refusal.
struct TOTPTests {
    @Test(arguments: [
        (Int64(59), "94287082"), (1_111_111_109, "07081804"), (1_111_111_111, "14050471"), (1_234_567_890, "89005924"),
        (2_000_000_000, "69279037"), (20_000_000_000, "65353130"),
    ])
    func rfc6238AppendixB(time: Int64, expected: String) {
        let totp = TOTP(secret: Array("12345678901234567890".utf8), digits: 8)
        #expect(totp.code(at: Date(timeIntervalSince1970: Double(time))) == expected)
    }

    /// Secrets are random bytes, not text: the key is the raw bytes, as authenticator apps use it after
    /// base32-decoding. A String-keyed TOTP (such as HummingbirdOTP's, see TOTP.swift) would turn these
    /// invalid UTF-8 bytes into U+FFFD and give 652810 and 077562 instead. Expected codes from Python's hmac.
    @Test func aSecretThatIsNotUTF8IsUsedByteForByte() {
        let secret: [UInt8] = [
            0xff, 0xfe, 0x80, 0x00, 0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28, 0xa1, 0xf0, 0x90, 0x28, 0xbc, 0xf8, 0xa1, 0xa1, 0xa1, 0xa1,
        ]
        let totp = TOTP(secret: secret)
        #expect(totp.code(at: Date(timeIntervalSince1970: 59)) == "847700")
        #expect(totp.code(at: Date(timeIntervalSince1970: 1_800_000_000)) == "799380")
    }

    @Test func base32MatchesRFC4648() {
        for (plain, encoded) in [
            ("", ""), ("f", "MY"), ("fo", "MZXQ"), ("foo", "MZXW6"), ("foob", "MZXW6YQ"), ("fooba", "MZXW6YTB"), ("foobar", "MZXW6YTBOI"),
        ] {
            #expect(Base32.encode(Array(plain.utf8)) == encoded)
            #expect(Base32.decode(encoded.lowercased() + "===") == Array(plain.utf8))
        }
        #expect(Base32.decode("MZ1!") == nil)
    }

    @Test func oneStepOfDriftIsAcceptedAndACodeIsAcceptedOnce() {
        let totp = TOTP(secret: TOTP.generateSecret())
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let step = totp.step(at: now)
        #expect(totp.verify(totp.code(step: step - 1), at: now, after: nil) == step - 1)
        #expect(totp.verify(totp.code(step: step + 1), at: now, after: nil) == step + 1)
        #expect(totp.verify(totp.code(step: step - 2), at: now, after: nil) == nil)
        #expect(totp.verify(totp.code(step: step), at: now, after: step) == nil, "replayed")
        #expect(totp.verify(totp.code(step: step), at: now, after: step - 1) == step)
        #expect(totp.verify("12345", at: now, after: nil) == nil)
        let uri = totp.provisioningURI(account: "ana@shop.example", issuer: "Keyward")
        #expect(uri.hasPrefix("otpauth://totp/Keyward:ana@shop.example?secret=\(Base32.encode(totp.secret))&issuer=Keyward"))
    }
}
