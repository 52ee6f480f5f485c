import Crypto
import CryptoExtras
import Foundation

/// A credential public key as WebAuthn sends it (a COSE_Key, RFC 9052/9053): ES256 (-7, EC2 on P-256)
/// or RS256 (-257, RSASSA-PKCS1-v1_5 with SHA-256, 2048 bits or more). Anything else is refused with
/// `webauthn_unsupported_algorithm`.
public struct COSEKey: Sendable {
    public enum Algorithm: Int, Sendable {
        case es256 = -7
        case rs256 = -257
    }

    public let algorithm: Algorithm
    enum Backing: Sendable {
        case p256(P256.Signing.PublicKey)
        case rsa(_RSA.Signing.PublicKey)
    }
    let backing: Backing

    static func unsupported(_ why: String) -> CodedInputError {
        CodedInputError(
            .webauthnUnsupportedAlgorithm,
            "Unsupported credential key: \(why). Keyward accepts ES256 (P-256) and RS256 (2048 bits or more)."
        )
    }

    /// Parses the CBOR bytes of a COSE_Key.
    public init(cbor bytes: [UInt8]) throws(CodedInputError) {
        try self.init(CBORReader.decode(bytes))
    }

    public init(_ key: CBORValue) throws(CodedInputError) {
        guard case .map = key, let kty = key[int: 1]?.int, let alg = key[int: 3]?.int else {
            throw CBORReader.malformed("the credential key has no key type or algorithm")
        }
        switch (kty, Algorithm(rawValue: alg)) {
        case (2, .es256?):
            guard key[int: -1]?.int == 1 else { throw Self.unsupported("ES256 needs the P-256 curve") }
            guard let x = key[int: -2]?.byteString, let y = key[int: -3]?.byteString, x.count == 32, y.count == 32 else {
                throw CBORReader.malformed("the P-256 key's coordinates are missing or not 32 bytes")
            }
            do { backing = .p256(try P256.Signing.PublicKey(x963Representation: [0x04] + x + y)) } catch {
                throw CodedInputError(.webauthnMalformed, "The P-256 key is not a point on the curve.")
            }
            algorithm = .es256
        case (3, .rs256?):
            guard let n = key[int: -1]?.byteString, let e = key[int: -2]?.byteString, !n.isEmpty, !e.isEmpty, e.count <= 8 else {
                throw CBORReader.malformed("the RSA key's modulus or exponent is missing")
            }
            let significant = n.drop { $0 == 0 }
            guard significant.count * 8 >= 2048, significant.count <= 1024 else { throw Self.unsupported("RSA keys are 2048 to 8192 bits") }
            do { backing = .rsa(try _RSA.Signing.PublicKey(n: Data(n), e: Data(e))) } catch {
                throw CodedInputError(.webauthnMalformed, "The RSA key cannot be used.")
            }
            algorithm = .rs256
        default:
            throw Self.unsupported("algorithm \(alg) with key type \(kty)")
        }
    }

    init(_ backing: Backing) {
        self.backing = backing
        switch backing {
        case .p256: algorithm = .es256
        case .rsa: algorithm = .rs256
        }
    }

    /// Whether `signature` (DER ECDSA for ES256, PKCS#1 v1.5 for RS256) signs `data` under SHA-256.
    public func isValidSignature(_ signature: [UInt8], for data: [UInt8]) -> Bool {
        switch backing {
        case .p256(let key):
            guard let parsed = try? P256.Signing.ECDSASignature(derRepresentation: signature) else { return false }
            return key.isValidSignature(parsed, for: data)
        case .rsa(let key):
            return key.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: signature), for: data, padding: .insecurePKCS1v1_5)
        }
    }
}
