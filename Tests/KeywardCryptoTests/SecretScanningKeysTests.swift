import Crypto
import Foundation
import KeywardCrypto
import Testing

/// The scanner key file and report signatures, checked against the sample GitHub publishes in its
/// secret scanning partner program documentation (a test key, its identifier, a payload and its signature).
struct SecretScanningKeysTests {
    static let gitHubSampleKeyFile = """
        {"public_keys": [{"key_identifier": "f9525bf080f75b3506ca1ead061add62b8633a346606dc5fe544e29231c6ee0d",
          "key": "-----BEGIN PUBLIC KEY-----\\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEsz9ugWDj5jK5ELBK42ynytbo38gP\\nHzZFI03Exwz8Lh/tCfL3YxwMdLjB+bMznsanlhK0RwcGP3IDb34kQDIo3Q==\\n-----END PUBLIC KEY-----\\n",
          "is_current": true}]}
        """
    static let gitHubSamplePayload = #"[{"token":"some_token","type":"some_type","url":"some_url","source":"some_source"}]"#
    static let gitHubSampleSignature = "MEUCIFLZzeK++IhS+y276SRk2Pe5LfDrfvTXu6iwKKcFGCrvAiEAhHN2kDOhy2I6eGkOFmxNkOJ+L2y8oQ9A2T9GGJo6WJY="
    static let gitHubSampleIdentifier = "f9525bf080f75b3506ca1ead061add62b8633a346606dc5fe544e29231c6ee0d"

    @Test func gitHubsPublishedSampleVerifiesAndAnyChangeToItDoesNot() throws {
        let keys = try SecretScanningKeys(json: Data(Self.gitHubSampleKeyFile.utf8))
        #expect(
            keys.verify(body: Data(Self.gitHubSamplePayload.utf8), identifier: Self.gitHubSampleIdentifier, signature: Self.gitHubSampleSignature)
                == .valid
        )
        // One byte more (a trailing newline, a re-serialised body) and the signature no longer holds.
        #expect(
            keys.verify(
                body: Data((Self.gitHubSamplePayload + "\n").utf8),
                identifier: Self.gitHubSampleIdentifier,
                signature: Self.gitHubSampleSignature
            ) == .invalidSignature
        )
        #expect(
            keys.verify(
                body: Data(Self.gitHubSamplePayload.replacingOccurrences(of: "some_token", with: "some_tokeN").utf8),
                identifier: Self.gitHubSampleIdentifier,
                signature: Self.gitHubSampleSignature
            ) == .invalidSignature
        )
        #expect(keys.verify(body: Data(Self.gitHubSamplePayload.utf8), identifier: "another", signature: Self.gitHubSampleSignature) == .unknownKey)
        #expect(
            keys.verify(body: Data(Self.gitHubSamplePayload.utf8), identifier: Self.gitHubSampleIdentifier, signature: "not base64!")
                == .invalidSignature
        )
        #expect(
            keys.verify(body: Data(Self.gitHubSamplePayload.utf8), identifier: Self.gitHubSampleIdentifier, signature: "AAAA") == .invalidSignature
        )
    }

    @Test func aSignatureByAnotherKeyUnderAKnownIdentifierIsRefused() throws {
        let keys = try SecretScanningKeys(json: Data(Self.gitHubSampleKeyFile.utf8))
        let forger = P256.Signing.PrivateKey()
        let forged = try forger.signature(for: Data(Self.gitHubSamplePayload.utf8)).derRepresentation.base64EncodedString()
        #expect(
            keys.verify(body: Data(Self.gitHubSamplePayload.utf8), identifier: Self.gitHubSampleIdentifier, signature: forged) == .invalidSignature
        )
    }

    @Test(arguments: [
        ("{}", "expected"),
        (#"{"public_keys": []}"#, "empty"),
        (#"{"public_keys": [{"key_identifier": "", "key": "x"}]}"#, "key_identifier"),
        (#"{"public_keys": [{"key_identifier": "a", "key": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"}]}"#, "P-256"),
    ])
    func unusableKeyFilesSayWhy(json: String, reason: String) {
        #expect(throws: SecretScanningKeys.FileError.self) { try SecretScanningKeys(json: Data(json.utf8)) }
        do {
            _ = try SecretScanningKeys(json: Data(json.utf8))
        } catch {
            #expect(error.description.contains(reason), "\(error.description)")
        }
    }

    @Test func aP384KeyIsNotAScannerKey() {
        let pem = P384.Signing.PrivateKey().publicKey.pemRepresentation.replacingOccurrences(of: "\n", with: "\\n")
        #expect(throws: SecretScanningKeys.FileError.self) {
            try SecretScanningKeys(json: Data(#"{"public_keys": [{"key_identifier": "a", "key": "\#(pem)"}]}"#.utf8))
        }
    }
}
