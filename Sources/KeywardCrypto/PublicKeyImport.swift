import Crypto
import CryptoExtras
import Foundation
import SwiftASN1

/// A public key that verifies signatures: what a merchant registers for a store's key index.
public enum VerificationKey: Sendable {
    case rsa(_RSA.Signing.PublicKey)
    case p256(P256.Signing.PublicKey)
    case p384(P384.Signing.PublicKey)
    case ed25519(Curve25519.Signing.PublicKey)

    /// Human description, e.g. `RSA 2048`, `EC P-256`, `Ed25519`.
    public var algorithmDescription: String {
        switch self {
        case .rsa(let key): "RSA \(key.keySizeInBits)"
        case .p256: "EC P-256"
        case .p384: "EC P-384"
        case .ed25519: "Ed25519"
        }
    }

    /// The key as SubjectPublicKeyInfo PEM, the form Keyward stores and exports.
    public var spkiPEM: String {
        switch self {
        case .rsa(let key): key.pemRepresentation
        case .p256(let key): key.pemRepresentation
        case .p384(let key): key.pemRepresentation
        case .ed25519(let key):
            // SPKI for Ed25519 (RFC 8410): AlgorithmIdentifier { 1.3.101.112 } + BIT STRING of the raw key.
            PEMDocument(
                type: "PUBLIC KEY",
                derBytes: [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00] + Array(key.rawRepresentation)
            ).pemString
        }
    }

    /// Verifies an RSASSA-PKCS1-v1_5 signature made with `digest` over `message` (myPOS, AliKassa).
    public func isValidPKCS1v15Signature(_ signature: [UInt8], for message: [UInt8], digest: SignatureDigest) -> Bool {
        guard case .rsa(let key) = self else { return false }
        let rsaSignature = _RSA.Signing.RSASignature(rawRepresentation: signature)
        switch digest {
        case .sha1: return key.isValidSignature(rsaSignature, for: Insecure.SHA1.hash(data: message), padding: .insecurePKCS1v1_5)
        case .sha256: return key.isValidSignature(rsaSignature, for: SHA256.hash(data: message), padding: .insecurePKCS1v1_5)
        case .sha512: return key.isValidSignature(rsaSignature, for: SHA512.hash(data: message), padding: .insecurePKCS1v1_5)
        }
    }
}

/// Digests the provider dialects sign with.
public enum SignatureDigest: String, Sendable, CaseIterable {
    case sha1, sha256, sha512
}

/// A public key read from a merchant's upload, with the certificate's validity when it came in one.
public struct ImportedPublicKey: Sendable {
    /// What the upload held.
    public enum Source: String, Sendable { case certificate, spki, pkcs1 }

    public let key: VerificationKey
    public let source: Source
    /// Validity of the certificate the key came in (`nil` for bare keys).
    public let notValidBefore: Date?
    public let notValidAfter: Date?
    /// The certificate, DER, when the key came in one.
    public let certificateDER: [UInt8]?
}

/// Why an uploaded key cannot be used. Stable codes: `not_pem`, `private_key_not_accepted`,
/// `unsupported_pem_type`, `malformed_key`, `unsupported_algorithm`, `rsa_key_too_small`, `wrong_passphrase`.
public struct KeyImportError: CodedError, Equatable {
    public let code: ErrorCode
    public let message: String

    init(_ code: ErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The same code and message, from a lower layer's refusal (e.g. a certificate read for its key).
    init(_ other: some CodedError) { self.init(other.code, other.message) }
}

/// Reads public keys in the forms merchants send: X.509 certificates, SPKI (`PUBLIC KEY`) and PKCS#1
/// (`RSA PUBLIC KEY`) PEM and PKCS#7 certificates-only bundles (`PKCS7`), several blocks in one file.
///
/// Certificates are read with a small DER walk instead of swift-certificates, because the public myPOS
/// sandbox still uses a 1024-bit RSA key, which swift-certificates refuses to parse; whether such a
/// key is acceptable is the caller's decision (`minimumRSABits`: 1024 in test mode, 2048 in live).
public enum PublicKeyImport {
    /// Every public key in `text`, in file order.
    public static func parse(pem text: String, minimumRSABits: Int = 2048) throws(KeyImportError) -> [ImportedPublicKey] {
        let documents = try PEMBlocks.split(text)
        var keys = [ImportedPublicKey]()
        for document in documents {
            switch document.discriminator {
            case "CERTIFICATE":
                keys.append(try certificate(der: document.derBytes, minimumRSABits: minimumRSABits))
            case "PKCS7", "CMS":
                for der in try PKCS7Bundle.certificates(der: document.derBytes) {
                    keys.append(try certificate(der: der, minimumRSABits: minimumRSABits))
                }
            case "PUBLIC KEY":
                keys.append(
                    ImportedPublicKey(
                        key: try spki(der: document.derBytes, minimumRSABits: minimumRSABits),
                        source: .spki,
                        notValidBefore: nil,
                        notValidAfter: nil,
                        certificateDER: nil
                    )
                )
            case "RSA PUBLIC KEY":
                guard let key = try? _RSA.Signing.PublicKey(unsafeDERRepresentation: document.derBytes) else {
                    throw KeyImportError(.malformedKey, "The RSA PUBLIC KEY block is not a valid PKCS#1 public key.")
                }
                try checkSize(key, minimum: minimumRSABits)
                keys.append(ImportedPublicKey(key: .rsa(key), source: .pkcs1, notValidBefore: nil, notValidAfter: nil, certificateDER: nil))
            case let type where type.contains("PRIVATE KEY"):
                throw KeyImportError(
                    .privateKeyNotAccepted,
                    "This is a private key (\(type)). Register the public key or certificate; keep the private key to yourself."
                )
            case let type:
                throw KeyImportError(
                    .unsupportedPEMType,
                    "PEM blocks of type '\(type.prefix(40))' are not keys; send a CERTIFICATE, PKCS7 bundle, PUBLIC KEY or RSA PUBLIC KEY."
                )
            }
        }
        return keys
    }

    /// The key of a SubjectPublicKeyInfo.
    public static func spki(der: [UInt8], minimumRSABits: Int = 2048) throws(KeyImportError) -> VerificationKey {
        let malformed = KeyImportError(.malformedKey, "The public key is not valid SubjectPublicKeyInfo DER.")
        guard let root = try? DER.parse(der), case .constructed(let parts) = root.content else { throw malformed }
        let children = Array(parts)
        guard children.count == 2, case .constructed(let algorithm) = children[0].content,
            let oidNode = Array(algorithm).first, let oid = try? ASN1ObjectIdentifier(derEncoded: oidNode)
        else { throw malformed }
        switch oid {
        case [1, 2, 840, 113549, 1, 1, 1]:
            guard let key = try? _RSA.Signing.PublicKey(unsafeDERRepresentation: der) else { throw malformed }
            try checkSize(key, minimum: minimumRSABits)
            return .rsa(key)
        case [1, 2, 840, 10045, 2, 1]:
            let curve = Array(algorithm).dropFirst().first.flatMap { try? ASN1ObjectIdentifier(derEncoded: $0) }
            switch curve {
            case [1, 2, 840, 10045, 3, 1, 7]?:
                guard let key = try? P256.Signing.PublicKey(derRepresentation: der) else { throw malformed }
                return .p256(key)
            case [1, 3, 132, 0, 34]?:
                guard let key = try? P384.Signing.PublicKey(derRepresentation: der) else { throw malformed }
                return .p384(key)
            default:
                throw KeyImportError(.unsupportedAlgorithm, "Only the P-256 and P-384 curves are supported for EC keys.")
            }
        case [1, 3, 101, 112]:
            guard let bits = try? ASN1BitString(derEncoded: children[1]),
                let key = try? Curve25519.Signing.PublicKey(rawRepresentation: bits.bytes)
            else { throw malformed }
            return .ed25519(key)
        default:
            throw KeyImportError(.unsupportedAlgorithm, "Unsupported key algorithm \(oid); use RSA, EC P-256/P-384 or Ed25519.")
        }
    }

    static func certificate(der: [UInt8], minimumRSABits: Int) throws(KeyImportError) -> ImportedPublicKey {
        let malformed = KeyImportError(.malformedKey, "The CERTIFICATE block is not a valid X.509 certificate.")
        // Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signature }
        // TBSCertificate ::= SEQUENCE { [0] version OPTIONAL, serial, signature, issuer, validity, subject, spki, ... }
        guard let root = try? DER.parse(der), case .constructed(let certificate) = root.content,
            let tbsNode = Array(certificate).first, case .constructed(let tbs) = tbsNode.content
        else { throw malformed }
        var fields = Array(tbs)
        if let first = fields.first, first.identifier.tagClass == .contextSpecific { fields.removeFirst() }
        guard fields.count >= 6, case .constructed(let validity) = fields[3].content else { throw malformed }
        let times = Array(validity).compactMap(time)
        guard times.count == 2 else { throw malformed }
        let key = try spki(der: Array(fields[5].encodedBytes), minimumRSABits: minimumRSABits)
        return ImportedPublicKey(key: key, source: .certificate, notValidBefore: times[0], notValidAfter: times[1], certificateDER: der)
    }

    static func time(_ node: ASN1Node) -> Date? {
        var components = DateComponents(calendar: Calendar(identifier: .gregorian), timeZone: TimeZone(identifier: "UTC"))
        if let utc = try? UTCTime(derEncoded: node) {
            (components.year, components.month, components.day) = (utc.year, utc.month, utc.day)
            (components.hour, components.minute, components.second) = (utc.hours, utc.minutes, utc.seconds)
        } else if let generalized = try? GeneralizedTime(derEncoded: node) {
            (components.year, components.month, components.day) = (generalized.year, generalized.month, generalized.day)
            (components.hour, components.minute, components.second) = (generalized.hours, generalized.minutes, generalized.seconds)
        } else {
            return nil
        }
        return components.date
    }

    static func checkSize(_ key: _RSA.Signing.PublicKey, minimum: Int) throws(KeyImportError) {
        guard key.keySizeInBits >= minimum else {
            throw KeyImportError(.rsaKeyTooSmall, "RSA keys must have at least \(minimum) bits here; this one has \(key.keySizeInBits).")
        }
    }
}

/// Splits text holding one or more PEM blocks (anything between blocks is ignored, as openssl does).
enum PEMBlocks {
    static func split(_ text: String) throws(KeyImportError) -> [PEMDocument] {
        var documents = [PEMDocument]()
        var current: [Substring]?
        for line in text.split(omittingEmptySubsequences: true, whereSeparator: \.isNewline) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("-----BEGIN ") {
                current = [Substring(trimmed)]
            } else if trimmed.hasPrefix("-----END "), var block = current {
                block.append(Substring(trimmed))
                guard let document = try? PEMDocument(pemString: block.joined(separator: "\n")) else {
                    throw KeyImportError(.notPEM, "A PEM block is damaged (bad base64 or mismatched BEGIN/END lines); it may be truncated.")
                }
                documents.append(document)
                current = nil
            } else if current != nil {
                current?.append(Substring(trimmed))
            }
        }
        if current != nil { throw KeyImportError(.notPEM, "A PEM block has no END line; the file may be truncated.") }
        if documents.isEmpty { throw KeyImportError(.notPEM, "No PEM block found; send PEM text starting with '-----BEGIN'.") }
        return documents
    }
}
