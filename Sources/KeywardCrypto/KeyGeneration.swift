import Crypto
import CryptoExtras
import Foundation
import SwiftASN1

/// Algorithms Keyward generates key pairs for (the on-site generator).
public enum KeyAlgorithm: String, Sendable, CaseIterable {
    case rsa2048 = "rsa-2048"
    case rsa3072 = "rsa-3072"
    case rsa4096 = "rsa-4096"
    case p256 = "ec-p256"
    case p384 = "ec-p384"
    case ed25519
}

/// A freshly generated key pair. The private key leaves Keyward once, as PKCS#8 PEM.
public struct GeneratedKeyPair: Sendable {
    public let algorithm: KeyAlgorithm
    /// Sign with this; show it once and never store it unsealed.
    public let signingKey: HTTPSigningKey
    public let publicKey: VerificationKey
    /// PKCS#8 PEM (`PRIVATE KEY`).
    public let privateKeyPEM: String

    /// Generates a key pair of `algorithm`.
    public static func generate(_ algorithm: KeyAlgorithm) throws -> GeneratedKeyPair {
        switch algorithm {
        case .rsa2048, .rsa3072, .rsa4096:
            let bits = algorithm == .rsa2048 ? 2048 : algorithm == .rsa3072 ? 3072 : 4096
            let key = try RSASigningKey.generate(bits: bits)
            return GeneratedKeyPair(algorithm: algorithm, signingKey: .rsa(key, pss: true), publicKey: key.publicKey, privateKeyPEM: key.pkcs8PEM)
        case .p256:
            let key = P256.Signing.PrivateKey()
            return GeneratedKeyPair(
                algorithm: algorithm,
                signingKey: .p256(key),
                publicKey: .p256(key.publicKey),
                privateKeyPEM: key.pemRepresentation
            )
        case .p384:
            let key = P384.Signing.PrivateKey()
            return GeneratedKeyPair(
                algorithm: algorithm,
                signingKey: .p384(key),
                publicKey: .p384(key.publicKey),
                privateKeyPEM: key.pemRepresentation
            )
        case .ed25519:
            let key = Curve25519.Signing.PrivateKey()
            return GeneratedKeyPair(
                algorithm: algorithm,
                signingKey: .ed25519(key),
                publicKey: .ed25519(key.publicKey),
                privateKeyPEM: Ed25519PKCS8.pem(seed: Array(key.rawRepresentation))
            )
        }
    }
}

extension HTTPSigningKey {
    /// Reads a private key in PEM: RSA (PKCS#1, PKCS#8, encrypted PKCS#8 with `passphrase`; signs
    /// rsa-pss-sha512 unless `rsaPKCS1v15`), EC P-256/P-384 (PKCS#8 or SEC1), Ed25519 (PKCS#8).
    public init(pem: String, passphrase: [UInt8]? = nil, rsaPKCS1v15: Bool = false) throws(KeyImportError) {
        let documents = try PEMBlocks.split(pem)
        guard let document = documents.first(where: { $0.discriminator.contains("PRIVATE KEY") }) else {
            throw KeyImportError(.malformedKey, "No private key in this PEM; a certificate or public key cannot sign.")
        }
        if document.discriminator == "ENCRYPTED PRIVATE KEY" {
            guard let passphrase else { throw KeyImportError(.wrongPassphrase, "This private key is encrypted; give its passphrase.") }
            do {
                // PBES2 (openssl's default) for every key type; other schemes fall through to BoringSSL (RSA).
                let der = try EncryptedPKCS8.decrypt(der: document.derBytes, passphrase: passphrase)
                try self.init(pem: PEMDocument(type: "PRIVATE KEY", derBytes: der).pemString, rsaPKCS1v15: rsaPKCS1v15)
                return
            } catch  where error.code != .unsupportedAlgorithm {
                throw error
            }
        }
        if document.discriminator == "PRIVATE KEY", let seed = Ed25519PKCS8.seed(der: document.derBytes) {
            guard let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: seed) else {
                throw KeyImportError(.malformedKey, "The Ed25519 private key is damaged.")
            }
            self = .ed25519(key)
            return
        }
        if document.discriminator != "RSA PRIVATE KEY", document.discriminator != "ENCRYPTED PRIVATE KEY" {
            if let key = try? P256.Signing.PrivateKey(pemRepresentation: document.pemString) {
                self = .p256(key)
                return
            }
            if let key = try? P384.Signing.PrivateKey(pemRepresentation: document.pemString) {
                self = .p384(key)
                return
            }
        }
        self = .rsa(try RSASigningKey(pem: pem, passphrase: passphrase), pss: !rsaPKCS1v15)
    }
}

/// PKCS#8 for Ed25519 (RFC 8410): a fixed 16-byte prefix and the 32-byte seed.
enum Ed25519PKCS8 {
    static let prefix: [UInt8] = [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]

    static func pem(seed: [UInt8]) -> String {
        PEMDocument(type: "PRIVATE KEY", derBytes: prefix + seed).pemString
    }

    static func seed(der: [UInt8]) -> [UInt8]? {
        der.count == prefix.count + 32 && der.starts(with: prefix) ? Array(der.suffix(32)) : nil
    }
}
