import Crypto
import CryptoExtras
import Foundation
import SwiftASN1
import Synchronization

/// Passphrase-encrypted PKCS#8 (`ENCRYPTED PRIVATE KEY`, RFC 5958 / PKCS#5 v2.1 PBES2): PBKDF2 with
/// HMAC-SHA-256 (or SHA-1, for files from older tools) and AES-CBC, the form `openssl pkcs8 -topk8 -v2`
/// writes and every SDK reads.
public enum EncryptedPKCS8 {
    /// PBKDF2 rounds for keys Keyward encrypts (OWASP's figure for PBKDF2-HMAC-SHA256).
    public static let rounds = 600_000
    /// Largest iteration count accepted when decrypting, so a crafted file cannot pin a core: checked before
    /// any derivation (`pbkdf2_max_iterations`; 1,000,000 by default, above OWASP's 600,000).
    public static var maximumRounds: Int { roundsLimit.withLock { $0 } }
    private static let roundsLimit = Mutex(1_000_000)

    /// Sets `maximumRounds` for the process (the server does, once, from its settings).
    public static func setMaximumRounds(_ rounds: Int) { roundsLimit.withLock { $0 = max(1, rounds) } }

    static let pbes2: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 5, 13]
    static let pbkdf2: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 5, 12]
    static let hmacSHA1: ASN1ObjectIdentifier = [1, 2, 840, 113549, 2, 7]
    static let hmacSHA256: ASN1ObjectIdentifier = [1, 2, 840, 113549, 2, 9]
    static let aes128CBC: ASN1ObjectIdentifier = [2, 16, 840, 1, 101, 3, 4, 1, 2]
    static let aes256CBC: ASN1ObjectIdentifier = [2, 16, 840, 1, 101, 3, 4, 1, 42]

    /// Encrypts the PKCS#8 `PRIVATE KEY` in `pem` under `passphrase` (AES-256-CBC, PBKDF2-HMAC-SHA256).
    public static func encrypt(pem: String, passphrase: [UInt8], rounds: Int = rounds) throws -> String {
        let document = try PEMDocument(pemString: pem)
        guard document.discriminator == "PRIVATE KEY" else { throw KeyImportError(.malformedKey, "Only PKCS#8 private keys are encrypted.") }
        var generator = SystemRandomNumberGenerator()
        let salt = (0..<16).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let iv = AES._CBC.IV()
        let key = try KDF.Insecure.PBKDF2.deriveKey(from: passphrase, salt: salt, using: .sha256, outputByteCount: 32, unsafeUncheckedRounds: rounds)
        let ciphertext = try AES._CBC.encrypt(document.derBytes, using: key, iv: iv)
        var serializer = DER.Serializer()
        try serializer.appendConstructedNode(identifier: .sequence) { info in
            try info.appendConstructedNode(identifier: .sequence) { algorithm in
                try algorithm.serialize(pbes2)
                try algorithm.appendConstructedNode(identifier: .sequence) { parameters in
                    try parameters.appendConstructedNode(identifier: .sequence) { kdf in
                        try kdf.serialize(pbkdf2)
                        try kdf.appendConstructedNode(identifier: .sequence) { kdfParameters in
                            try kdfParameters.serialize(ASN1OctetString(contentBytes: ArraySlice(salt)))
                            try kdfParameters.serialize(rounds)
                            try kdfParameters.appendConstructedNode(identifier: .sequence) { prf in
                                try prf.serialize(hmacSHA256)
                                try prf.serialize(ASN1Null())
                            }
                        }
                    }
                    try parameters.appendConstructedNode(identifier: .sequence) { scheme in
                        try scheme.serialize(aes256CBC)
                        try scheme.serialize(ASN1OctetString(contentBytes: ArraySlice(Array(iv))))
                    }
                }
            }
            try info.serialize(ASN1OctetString(contentBytes: ArraySlice(ciphertext)))
        }
        return PEMDocument(type: "ENCRYPTED PRIVATE KEY", derBytes: serializer.serializedBytes).pemString
    }

    /// Decrypts an `ENCRYPTED PRIVATE KEY` (DER) to the PKCS#8 `PrivateKeyInfo` DER.
    public static func decrypt(der: [UInt8], passphrase: [UInt8]) throws(KeyImportError) -> [UInt8] {
        let unsupported = KeyImportError(
            .unsupportedAlgorithm,
            "The key is encrypted with a scheme Keyward does not read; re-encrypt it with `openssl pkcs8 -topk8 -v2 aes-256-cbc`."
        )
        let malformed = KeyImportError(.malformedKey, "The ENCRYPTED PRIVATE KEY block is not valid PKCS#8.")
        guard let root = try? DER.parse(der), case .constructed(let info) = root.content else { throw malformed }
        let parts = Array(info)
        guard parts.count == 2, case .constructed(let algorithm) = parts[0].content,
            let ciphertext = try? ASN1OctetString(derEncoded: parts[1])
        else { throw malformed }
        let algorithmParts = Array(algorithm)
        guard algorithmParts.count == 2, (try? ASN1ObjectIdentifier(derEncoded: algorithmParts[0])) == pbes2 else { throw unsupported }
        guard case .constructed(let pbes2Parameters) = algorithmParts[1].content else { throw malformed }
        let schemes = Array(pbes2Parameters)
        guard schemes.count == 2, case .constructed(let kdfNode) = schemes[0].content, case .constructed(let cipherNode) = schemes[1].content else {
            throw malformed
        }
        let kdf = Array(kdfNode)
        let cipher = Array(cipherNode)
        guard kdf.count == 2, (try? ASN1ObjectIdentifier(derEncoded: kdf[0])) == pbkdf2, case .constructed(let kdfParameterNode) = kdf[1].content
        else { throw unsupported }
        let kdfParameters = Array(kdfParameterNode)
        guard kdfParameters.count >= 2, let salt = try? ASN1OctetString(derEncoded: kdfParameters[0]),
            let rounds = try? Int(derEncoded: kdfParameters[1]), rounds >= 1
        else { throw malformed }
        let limit = maximumRounds
        guard rounds <= limit else {
            throw KeyImportError(
                .pbkdf2RoundsTooHigh,
                "The key is encrypted with \(rounds) PBKDF2 iterations; Keyward derives at most \(limit). Re-encrypt it with fewer (openssl pkcs8 -topk8 -v2 aes-256-cbc -iter 600000)."
            )
        }
        var hash = KDF.Insecure.PBKDF2.HashFunction.insecureSHA1  // the PKCS#5 default when no prf is named
        for node in kdfParameters.dropFirst(2) {
            guard case .constructed(let prfNode) = node.content, let prf = Array(prfNode).first,
                let oid = try? ASN1ObjectIdentifier(derEncoded: prf)
            else { continue }  // an optional keyLength INTEGER
            switch oid {
            case hmacSHA256: hash = .sha256
            case hmacSHA1: hash = .insecureSHA1
            default: throw unsupported
            }
        }
        guard cipher.count == 2, let cipherOID = try? ASN1ObjectIdentifier(derEncoded: cipher[0]),
            let iv = try? ASN1OctetString(derEncoded: cipher[1]), iv.bytes.count == 16
        else { throw unsupported }
        let keyLength: Int
        switch cipherOID {
        case aes256CBC: keyLength = 32
        case aes128CBC: keyLength = 16
        default: throw unsupported
        }
        do {
            let key = try KDF.Insecure.PBKDF2.deriveKey(
                from: passphrase,
                salt: Array(salt.bytes),
                using: hash,
                outputByteCount: keyLength,
                unsafeUncheckedRounds: rounds
            )
            let plaintext = try AES._CBC.decrypt(Array(ciphertext.bytes), using: key, iv: try AES._CBC.IV(ivBytes: iv.bytes))
            let bytes = Array(plaintext)
            // A wrong passphrase almost always fails the padding; if not, the result is not a DER SEQUENCE.
            guard let parsed = try? DER.parse(bytes), case .constructed = parsed.content else { throw malformed }
            return bytes
        } catch {
            throw KeyImportError(.wrongPassphrase, "The private key could not be decrypted: wrong passphrase.")
        }
    }
}
