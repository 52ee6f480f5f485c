import Crypto
import Foundation
import KeywardCrypto

/// In-process micro-benchmarks for Benchmarks/*.sh (one thread; pin it with taskset). Prints one JSON
/// object of operations per second. Not a product command.
///
///   keyward-bench jwe [SECONDS]
@main
enum KeywardBench {
    static func main() throws {
        let arguments = CommandLine.arguments.dropFirst()
        let seconds = arguments.dropFirst().first.flatMap(Double.init) ?? 3
        switch arguments.first {
        case "jwe": try jwe(seconds: seconds)
        case "p384": try p384(seconds: seconds)
        default:
            FileHandle.standardError.write(Data("usage: keyward-bench jwe [SECONDS]\n".utf8))
            exit(2)
        }
    }

    /// Runs `body` repeatedly for `seconds`; operations per second.
    static func rate(_ seconds: Double, _ body: () throws -> Void) rethrows -> Double {
        let start = ContinuousClock.now
        let limit = Duration.milliseconds(Int(seconds * 1000))
        var count = 0
        while ContinuousClock.now - start < limit {
            for _ in 0..<16 { try body() }
            count += 16
        }
        let elapsed = ContinuousClock.now - start
        return Double(count) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    }

    /// Where P-384 time goes: key generation alone, ECDH alone, key from raw scalar.
    static func p384(seconds: Double) throws {
        let peer = P384.KeyAgreement.PrivateKey().publicKey
        let own = P384.KeyAgreement.PrivateKey()
        let keygen = rate(seconds) { _ = P384.KeyAgreement.PrivateKey() }
        let ecdh = try rate(seconds) { _ = try own.sharedSecretFromKeyAgreement(with: peer) }
        let scalar = Array(own.rawRepresentation)
        let fromRaw = try rate(seconds) { _ = try P384.KeyAgreement.PrivateKey(rawRepresentation: scalar) }
        let p256Peer = P256.KeyAgreement.PrivateKey().publicKey
        let p256 = try rate(seconds) { _ = try P256.KeyAgreement.PrivateKey().sharedSecretFromKeyAgreement(with: p256Peer) }
        print(
            #"{"p384_keygen_per_s":\#(Int(keygen)),"p384_ecdh_per_s":\#(Int(ecdh)),"p384_from_scalar_per_s":\#(Int(fromRaw)),"p256_keygen_ecdh_per_s":\#(Int(p256))}"#
        )
    }

    static func jwe(seconds: Double) throws {
        let recipient = JWK(material: .ecPrivate(.generate(.p384)), kid: "bench")
        let recipientPublic = P384.KeyAgreement.PrivateKey().publicKey
        let plaintext = Array(
            #"{"refreshToken":"0123456789abcdef0123456789abcdef0123456789a","authToken":"0123456789abcdef0123456789abcdef0123456789a","deviceId":"3f1c1d7e-4b7a-4b53-9a61-2b1d6b5c9e01","tokenExpirationDateTime":"2026-11-26 12:00:00.0000 +0000"}"#
                .utf8
        )
        // (a) the ceiling: what every JWE encrypt must do, one P-384 key generation and one ECDH.
        let ceiling = try rate(seconds) {
            let ephemeral = P384.KeyAgreement.PrivateKey()
            _ = try ephemeral.sharedSecretFromKeyAgreement(with: recipientPublic)
        }
        let token = try JWE.encrypt(plaintext, to: recipient.publicJWK)
        let encrypt = try rate(seconds) { _ = try JWE.encrypt(plaintext, to: recipient.publicJWK) }
        let decrypt = try rate(seconds) { _ = try JWE.decrypt(token, with: recipient) }
        print(#"{"keygen_ecdh_per_s":\#(Int(ceiling)),"jwe_encrypt_per_s":\#(Int(encrypt)),"jwe_decrypt_per_s":\#(Int(decrypt))}"#)
    }
}
