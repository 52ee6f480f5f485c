import Crypto
import CryptoExtras
import Foundation

/// An RSA private key for the provider dialects (myPOS, AliKassa): platform keys and merchants' keys
/// in the CLI and KeywardClient.
public struct RSASigningKey: Sendable {
    let key: _RSA.Signing.PrivateKey

    /// Reads PKCS#1 (`RSA PRIVATE KEY`) or PKCS#8 (`PRIVATE KEY`) PEM, or encrypted PKCS#8
    /// (`ENCRYPTED PRIVATE KEY`) with `passphrase`. Keys below `minimumBits` are refused.
    public init(pem: String, passphrase: [UInt8]? = nil, minimumBits: Int = 2048) throws(KeyImportError) {
        let documents = try PEMBlocks.split(pem)
        guard let document = documents.first(where: { $0.discriminator.contains("PRIVATE KEY") }) else {
            throw KeyImportError(.malformedKey, "No private key in this PEM; a certificate or public key cannot sign.")
        }
        let loaded: _RSA.Signing.PrivateKey
        if document.discriminator == "ENCRYPTED PRIVATE KEY" {
            guard let passphrase else { throw KeyImportError(.wrongPassphrase, "This private key is encrypted; give its passphrase.") }
            do {
                loaded = try _RSA.Signing.PrivateKey(encryptedPEMRepresentation: document.pemString) { (setter: ([UInt8]) -> Void) in
                    setter(passphrase)
                }
            } catch {
                throw KeyImportError(.wrongPassphrase, "The private key could not be decrypted: wrong passphrase, or not an RSA key.")
            }
        } else {
            do {
                loaded = try _RSA.Signing.PrivateKey(unsafePEMRepresentation: document.pemString)
            } catch {
                throw KeyImportError(.malformedKey, "The \(document.discriminator) block is not an RSA private key.")
            }
        }
        guard loaded.keySizeInBits >= minimumBits else {
            throw KeyImportError(.rsaKeyTooSmall, "RSA keys must have at least \(minimumBits) bits here; this one has \(loaded.keySizeInBits).")
        }
        self.key = loaded
    }

    /// A new key of `bits` (2048, 3072 or 4096).
    public static func generate(bits: Int) throws -> RSASigningKey {
        let size: _RSA.Signing.KeySize =
            switch bits {
            case 2048: .bits2048
            case 3072: .bits3072
            case 4096: .bits4096
            default: throw KeyImportError(.unsupportedAlgorithm, "RSA keys are generated with 2048, 3072 or 4096 bits.")
            }
        return RSASigningKey(try _RSA.Signing.PrivateKey(keySize: size))
    }

    init(_ key: _RSA.Signing.PrivateKey) { self.key = key }

    /// Size in bits.
    public var bits: Int { key.keySizeInBits }
    /// The matching public key.
    public var publicKey: VerificationKey { .rsa(key.publicKey) }
    /// PKCS#8 PEM (`PRIVATE KEY`). Show once or seal; never log.
    public var pkcs8PEM: String { key.pkcs8PEMRepresentation }
    /// PKCS#1 PEM (`RSA PRIVATE KEY`), for older SDKs that want it.
    public var pkcs1PEM: String { key.pemRepresentation }

    /// RSASSA-PKCS1-v1_5 over `message` with `digest`: deterministic, so equal to `openssl dgst -sign`.
    public func signPKCS1v15(_ message: [UInt8], digest: SignatureDigest) throws -> [UInt8] {
        let signature: _RSA.Signing.RSASignature =
            switch digest {
            case .sha1: try key.signature(for: Insecure.SHA1.hash(data: message), padding: .insecurePKCS1v1_5)
            case .sha256: try key.signature(for: SHA256.hash(data: message), padding: .insecurePKCS1v1_5)
            case .sha512: try key.signature(for: SHA512.hash(data: message), padding: .insecurePKCS1v1_5)
            }
        return Array(signature.rawRepresentation)
    }
}
