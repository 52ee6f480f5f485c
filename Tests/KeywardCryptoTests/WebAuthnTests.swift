import Crypto
import CryptoExtras
import Foundation
import KeywardCrypto
import Testing

/// CBOR written by hand for the tests (the reader under test must not check its own writer).
indirect enum TestCBOR {
    case int(Int)
    case bytes([UInt8])
    case text(String)
    case array([TestCBOR])
    case map([(TestCBOR, TestCBOR)])
    case bool(Bool)

    static func head(_ major: UInt8, _ value: UInt64) -> [UInt8] {
        switch value {
        case 0..<24: [major << 5 | UInt8(value)]
        case 24..<256: [major << 5 | 24, UInt8(value)]
        case 256..<65536: [major << 5 | 25, UInt8(value >> 8), UInt8(value & 0xff)]
        default: [major << 5 | 26] + (0..<4).reversed().map { UInt8((value >> (8 * UInt64($0))) & 0xff) }
        }
    }

    var encoded: [UInt8] {
        switch self {
        case .int(let n): n >= 0 ? Self.head(0, UInt64(n)) : Self.head(1, UInt64(-1 - n))
        case .bytes(let b): Self.head(2, UInt64(b.count)) + b
        case .text(let t): Self.head(3, UInt64(t.utf8.count)) + Array(t.utf8)
        case .array(let items): Self.head(4, UInt64(items.count)) + items.flatMap(\.encoded)
        case .map(let pairs): Self.head(5, UInt64(pairs.count)) + pairs.flatMap { $0.0.encoded + $0.1.encoded }
        case .bool(let b): [b ? 0xf5 : 0xf4]
        }
    }
}

/// A software authenticator in Swift, for the verifier's unit tests.
struct TestAuthenticator {
    let key = P256.Signing.PrivateKey()
    let credentialID = Array(repeating: UInt8(7), count: 20)
    static let relyingParty = WebAuthn.RelyingParty(id: "keys.shop.example", origin: "https://keys.shop.example")

    var cose: [UInt8] {
        let point = Array(key.publicKey.x963Representation)
        return TestCBOR.map([
            (.int(1), .int(2)), (.int(3), .int(-7)), (.int(-1), .int(1)), (.int(-2), .bytes(Array(point[1...32]))),
            (.int(-3), .bytes(Array(point[33...64]))),
        ]).encoded
    }

    static func clientData(_ type: String, _ challenge: [UInt8], origin: String = relyingParty.origin) -> [UInt8] {
        Array(#"{"type":"\#(type)","challenge":"\#(Base64URL.encode(challenge))","origin":"\#(origin)","crossOrigin":false}"#.utf8)
    }

    func authData(rpID: String = relyingParty.id, flags: UInt8 = 0x05, count: UInt32 = 0, attested: Bool = false) -> [UInt8] {
        var bytes = Array(SHA256.hash(data: Array(rpID.utf8))) + [flags | (attested ? 0x40 : 0)]
        bytes += [UInt8(count >> 24), UInt8((count >> 16) & 0xff), UInt8((count >> 8) & 0xff), UInt8(count & 0xff)]
        if attested { bytes += [UInt8](repeating: 0, count: 16) + [0, UInt8(credentialID.count)] + credentialID + cose }
        return bytes
    }

    func attestation(_ authData: [UInt8], clientData: [UInt8], format: String = "none", statement: TestCBOR = .map([])) -> [UInt8] {
        TestCBOR.map([(.text("fmt"), .text(format)), (.text("attStmt"), statement), (.text("authData"), .bytes(authData))]).encoded
    }

    func sign(_ authData: [UInt8], _ clientData: [UInt8]) throws -> [UInt8] {
        Array(try key.signature(for: authData + Array(SHA256.hash(data: clientData))).derRepresentation)
    }
}

@Suite struct CBORReaderTests {
    @Test func readsWhatWebAuthnSendsAndRefusesWhatItDoesNot() throws {
        let value = try CBORReader.decode(
            TestCBOR.map([(.text("fmt"), .text("none")), (.int(-2), .bytes([1, 2])), (.int(3), .array([.bool(true)]))]).encoded
        )
        #expect(value[text: "fmt"]?.textString == "none")
        #expect(value[int: -2]?.byteString == [1, 2])
        #expect(value[int: 3] == .array([.bool(true)]))
        func refused(_ bytes: [UInt8], _ comment: Comment) {
            #expect(throws: CodedInputError.self, comment) { try CBORReader.decode(bytes) }
        }
        refused([0x5f, 0x41, 0x00, 0xff], "indefinite-length byte string")
        refused([0x58, 0x10, 0x01], "byte string longer than the data")
        refused(Array(repeating: 0x81, count: 40) + [0x00], "nested 40 deep")
        refused([0x01, 0x02], "trailing bytes")
        refused([0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], "an array claiming 2^64 items")
        refused([0xa2, 0x01, 0x01, 0x01, 0x02], "a map repeating a key")
        refused([0xfb, 0, 0, 0, 0, 0, 0, 0, 0], "a float")
        refused([0xc2, 0x41, 0x01], "a tag")
        refused([0x62, 0xff, 0xfe], "text that is not UTF-8")
    }
}

@Suite struct WebAuthnTests {
    let rp = TestAuthenticator.relyingParty
    let challenge = Array("a challenge of thirty-two bytes!".utf8)

    func code(_ work: () throws -> Void) -> String? {
        do {
            try work()
            return nil
        } catch let error as CodedInputError { return error.code.rawValue } catch { return "\(error)" }
    }

    @Test func aNoneRegistrationGivesTheKeyAndEveryWrongFieldHasItsCode() throws {
        let device = TestAuthenticator()
        let clientData = TestAuthenticator.clientData("webauthn.create", challenge)
        let good = try WebAuthn.verifyRegistration(
            clientDataJSON: clientData,
            attestationObject: device.attestation(device.authData(attested: true), clientData: clientData),
            challenge: challenge,
            relyingParty: rp
        )
        #expect(good.credentialID == device.credentialID && good.algorithm == .es256 && good.userVerified && good.attestationFormat == "none")
        #expect(good.publicKeyCBOR == device.cose)

        func registration(
            clientData: [UInt8] = clientData,
            authData: [UInt8]? = nil,
            format: String = "none",
            statement: TestCBOR = .map([])
        ) -> String? {
            code {
                _ = try WebAuthn.verifyRegistration(
                    clientDataJSON: clientData,
                    attestationObject: device.attestation(
                        authData ?? device.authData(attested: true),
                        clientData: clientData,
                        format: format,
                        statement: statement
                    ),
                    challenge: challenge,
                    relyingParty: rp
                )
            }
        }
        #expect(
            registration(clientData: TestAuthenticator.clientData("webauthn.create", Array("another challenge".utf8)))
                == "webauthn_challenge_mismatch"
        )
        #expect(
            registration(clientData: TestAuthenticator.clientData("webauthn.create", challenge, origin: "https://keys.shop.example.evil.example"))
                == "webauthn_origin_mismatch"
        )
        #expect(registration(clientData: TestAuthenticator.clientData("webauthn.get", challenge)) == "webauthn_wrong_type")
        #expect(registration(authData: device.authData(rpID: "evil.example", attested: true)) == "webauthn_rp_mismatch")
        #expect(registration(authData: device.authData(flags: 0x04, attested: true)) == "webauthn_user_not_present")
        #expect(registration(authData: device.authData()) == "webauthn_malformed", "no credential")
        #expect(registration(format: "fido-u2f") == "webauthn_unsupported_attestation")
        #expect(registration(statement: .map([(.text("alg"), .int(-7))])) == "webauthn_bad_attestation", "none with a statement")
        #expect(registration(authData: device.authData(attested: true) + [0]) == "webauthn_malformed", "a byte after the key")
    }

    @Test func packedSelfAttestationIsVerifiedWithTheCredentialKey() throws {
        let device = TestAuthenticator()
        let clientData = TestAuthenticator.clientData("webauthn.create", challenge)
        let authData = device.authData(attested: true)
        let signature = try device.sign(authData, clientData)
        let packed = try WebAuthn.verifyRegistration(
            clientDataJSON: clientData,
            attestationObject: device.attestation(
                authData,
                clientData: clientData,
                format: "packed",
                statement: .map([(.text("alg"), .int(-7)), (.text("sig"), .bytes(signature))])
            ),
            challenge: challenge,
            relyingParty: rp
        )
        #expect(packed.attestationFormat == "packed")
        let forged = try P256.Signing.PrivateKey().signature(for: authData + Array(SHA256.hash(data: clientData))).derRepresentation
        #expect(
            code {
                _ = try WebAuthn.verifyRegistration(
                    clientDataJSON: clientData,
                    attestationObject: device.attestation(
                        authData,
                        clientData: clientData,
                        format: "packed",
                        statement: .map([(.text("alg"), .int(-7)), (.text("sig"), .bytes(Array(forged)))])
                    ),
                    challenge: challenge,
                    relyingParty: rp
                )
            } == "webauthn_bad_attestation"
        )
    }

    @Test func anAssertionNeedsTheKeysSignatureAndAnAdvancingCounter() throws {
        let device = TestAuthenticator()
        let clientData = TestAuthenticator.clientData("webauthn.get", challenge)
        let authData = device.authData(count: 6)
        let result = try WebAuthn.verifyAssertion(
            clientDataJSON: clientData,
            authenticatorData: authData,
            signature: try device.sign(authData, clientData),
            challenge: challenge,
            relyingParty: rp,
            publicKeyCBOR: device.cose,
            storedSignCount: 5
        )
        #expect(result.signCount == 6 && result.userVerified)
        func assertion(_ authData: [UInt8], stored: UInt32 = 5, signer: TestAuthenticator? = nil) -> String? {
            code {
                _ = try WebAuthn.verifyAssertion(
                    clientDataJSON: clientData,
                    authenticatorData: authData,
                    signature: try (signer ?? device).sign(authData, clientData),
                    challenge: challenge,
                    relyingParty: rp,
                    publicKeyCBOR: device.cose,
                    storedSignCount: stored
                )
            }
        }
        #expect(assertion(authData, signer: TestAuthenticator()) == "webauthn_bad_signature")
        #expect(assertion(device.authData(count: 5)) == "webauthn_sign_count", "equal counter: a clone")
        #expect(assertion(device.authData(count: 0)) == "webauthn_sign_count", "counter back to zero")
        #expect(assertion(device.authData(count: 0), stored: 0) == nil, "an authenticator without a counter")
        #expect(assertion(device.authData(rpID: "evil.example", count: 6)) == "webauthn_rp_mismatch")
        #expect(assertion(device.authData(flags: 0x00, count: 6)) == "webauthn_user_not_present")
        #expect(
            !WebAuthn.counterAdvances(stored: 7, new: 7) && WebAuthn.counterAdvances(stored: 0, new: 1) && WebAuthn.counterAdvances(stored: 0, new: 0)
        )
    }

    @Test func theRelyingPartyOfAPublicURLIsSerializedAsBrowsersSendTheOrigin() {
        #expect(
            WebAuthn.RelyingParty(publicBaseURL: "https://Keys.Example.com:443/")
                == WebAuthn.RelyingParty(id: "keys.example.com", origin: "https://keys.example.com")
        )
        #expect(
            WebAuthn.RelyingParty(publicBaseURL: "https://localhost:8443") == WebAuthn.RelyingParty(id: "localhost", origin: "https://localhost:8443")
        )
        #expect(WebAuthn.RelyingParty(publicBaseURL: "http://keys.example.com") == nil)
    }

    @Test func rs256KeysVerifyAndWeakOrUnknownKeysAreRefused() throws {
        let rsa = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let der = Array(rsa.publicKey.derRepresentation)
        // The modulus and exponent, from the SPKI as swift-crypto gives it (RSA ≥ 2048: the last 5 bytes hold e = 65537).
        let modulus = Array(der[(der.count - 5 - 256)..<(der.count - 5)])
        let cose = TestCBOR.map([(.int(1), .int(3)), (.int(3), .int(-257)), (.int(-1), .bytes(modulus)), (.int(-2), .bytes([1, 0, 1]))]).encoded
        let key = try COSEKey(cbor: cose)
        #expect(key.algorithm == .rs256)
        let message = Array("signed by the authenticator".utf8)
        let signature = Array(try rsa.signature(for: message, padding: .insecurePKCS1v1_5).rawRepresentation)
        #expect(key.isValidSignature(signature, for: message))
        #expect(!key.isValidSignature(signature, for: message + [0]))
        let weak = TestCBOR.map([
            (.int(1), .int(3)), (.int(3), .int(-257)), (.int(-1), .bytes(Array(modulus.prefix(128)))), (.int(-2), .bytes([1, 0, 1])),
        ]).encoded
        #expect(code { _ = try COSEKey(cbor: weak) } == "webauthn_unsupported_algorithm")
        let eddsa = TestCBOR.map([(.int(1), .int(1)), (.int(3), .int(-8)), (.int(-1), .int(6)), (.int(-2), .bytes([UInt8](repeating: 1, count: 32)))])
            .encoded
        #expect(code { _ = try COSEKey(cbor: eddsa) } == "webauthn_unsupported_algorithm")
        let offCurve = TestCBOR.map([
            (.int(1), .int(2)), (.int(3), .int(-7)), (.int(-1), .int(1)), (.int(-2), .bytes([UInt8](repeating: 1, count: 32))),
            (.int(-3), .bytes([UInt8](repeating: 2, count: 32))),
        ]).encoded
        #expect(code { _ = try COSEKey(cbor: offCurve) } == "webauthn_malformed")
    }
}
