import Crypto
import CryptoExtras
import Foundation
import SwiftASN1
import X509

/// The key pair Keyward signs its provider-dialect answers with, one per merchant key index, and the
/// self-signed certificate the merchant downloads to verify those answers (myPOS: "the IPC public
/// certificate" they configure in their SDK).
public struct PlatformKeyPair: Sendable {
    /// The signing key; seal it before it touches a disk.
    public let signingKey: RSASigningKey
    /// The self-signed certificate, PEM.
    public let certificatePEM: String
    /// When the certificate stops being valid.
    public let notValidAfter: Date

    /// A new RSA key (2048 bits: what the myPOS SDKs expect) with a certificate naming `subject`
    /// (e.g. "SID 000000000000010 key index 1"), valid for `years` years.
    public static func generate(subject: String, bits: Int = 2048, years: Int = 5, now: Date = Date()) throws -> PlatformKeyPair {
        let rsa = try _RSA.Signing.PrivateKey(keySize: bits == 2048 ? .bits2048 : bits == 3072 ? .bits3072 : .bits4096)
        let publicKey = Certificate.PublicKey(rsa.publicKey)
        let name = try DistinguishedName {
            OrganizationName("Keyward")
            CommonName("Keyward platform key, \(subject)")
        }
        let extensions = try Certificate.Extensions {
            Critical(BasicConstraints.notCertificateAuthority)
            Critical(KeyUsage(digitalSignature: true))
            SubjectKeyIdentifier(hash: publicKey)
        }
        let notAfter = now.addingTimeInterval(Double(years) * 365.25 * 86400).rounded()
        let certificate = try Certificate(
            version: .v3,
            serialNumber: .init(),
            publicKey: publicKey,
            notValidBefore: now.addingTimeInterval(-300),
            notValidAfter: notAfter,
            issuer: name,
            subject: name,
            signatureAlgorithm: .sha256WithRSAEncryption,
            extensions: extensions,
            issuerPrivateKey: .init(rsa)
        )
        return PlatformKeyPair(signingKey: RSASigningKey(rsa), certificatePEM: try certificate.serializeAsPEM().pemString, notValidAfter: notAfter)
    }
}

extension Date {
    /// Whole seconds: certificate times carry no fractions, so the stored expiry matches the file.
    func rounded() -> Date { Date(timeIntervalSince1970: timeIntervalSince1970.rounded(.down)) }
}

/// PKCS#7 / CMS `SignedData` bundles that carry certificates only (`openssl crl2pkcs7 -nocrl`, `.p7b`).
enum PKCS7Bundle {
    /// The DER of each certificate in the bundle, in order.
    static func certificates(der: [UInt8]) throws(KeyImportError) -> [[UInt8]] {
        let malformed = KeyImportError(.malformedKey, "The PKCS7 block is not a certificates-only PKCS#7 SignedData bundle.")
        // ContentInfo ::= SEQUENCE { contentType OID (signedData), content [0] EXPLICIT SignedData }
        // SignedData ::= SEQUENCE { version, digestAlgorithms SET, encapContentInfo, certificates [0] IMPLICIT SET OF Certificate OPTIONAL, ... }
        guard let root = try? DER.parse(der), case .constructed(let info) = root.content else { throw malformed }
        let parts = Array(info)
        guard parts.count == 2, let type = try? ASN1ObjectIdentifier(derEncoded: parts[0]), type == [1, 2, 840, 113549, 1, 7, 2],
            case .constructed(let explicit) = parts[1].content, let signedDataNode = Array(explicit).first,
            case .constructed(let signedData) = signedDataNode.content
        else { throw malformed }
        let certificateSet = Array(signedData).first {
            $0.identifier.tagClass == .contextSpecific && $0.identifier.tagNumber == 0
        }
        guard let certificateSet, case .constructed(let certificates) = certificateSet.content else {
            throw KeyImportError(.malformedKey, "The PKCS#7 bundle holds no certificates.")
        }
        let ders = certificates.map { Array($0.encodedBytes) }
        guard !ders.isEmpty else { throw KeyImportError(.malformedKey, "The PKCS#7 bundle holds no certificates.") }
        return ders
    }
}
