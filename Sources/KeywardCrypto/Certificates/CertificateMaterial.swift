import Crypto
import CryptoExtras
import Foundation
import SwiftASN1
import X509

/// Why an uploaded certificate file cannot be read. Stable codes: `not_a_certificate_file`,
/// `file_too_large`, `malformed_certificate`, `malformed_key`, `wrong_passphrase`, `rsa_key_too_small`,
/// `unsupported_pem_type`, `several_private_keys`.
public struct CertificateFileError: CodedError, Equatable {
    public let code: ErrorCode
    public let message: String

    init(_ code: ErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The same code and message, from a lower layer's refusal (a key in the files that cannot be imported).
    init(_ other: some CodedError) { self.init(other.code, other.message) }
}

/// Everything read from the files of one upload (`cert.pem key.pem chain.pem`, one `combined.pem`,
/// a DER `.cer`, a PKCS#7 `.p7b`), in file order, before any judgement about how it fits together.
public struct CertificateMaterial: Sendable {
    /// Every certificate found, in the order read.
    public var certificates: [Certificate] = []
    /// The private key, when one was given.
    public var privateKey: Certificate.PrivateKey?

    /// Largest file read: certificates and keys are kilobytes; a 50 MB "certificate" is refused unread.
    public static let maximumFileBytes = 1024 * 1024
    /// Most certificates one upload may hold: real chains have a handful; more is a mistake (a CA bundle) or an attack.
    public static let maximumCertificates = 100

    public init() {}

    /// Reads `files` (raw bytes each). Encrypted PKCS#8 keys need `passphrase`.
    public static func read(_ files: [[UInt8]], passphrase: [UInt8]? = nil) throws(CertificateFileError) -> CertificateMaterial {
        var material = CertificateMaterial()
        for (number, bytes) in files.enumerated() {
            let name = files.count > 1 ? "file \(number + 1)" : "the file"
            guard bytes.count <= maximumFileBytes else {
                throw CertificateFileError(
                    .fileTooLarge,
                    "\(name.capitalizedFirst) is \(bytes.count) bytes; certificate files are at most \(maximumFileBytes / 1024) KiB."
                )
            }
            if let text = String(validating: bytes, as: UTF8.self), text.contains("-----BEGIN ") {
                try material.readPEM(text, name: name, passphrase: passphrase)
            } else if bytes.first == 0x30 {
                try material.readDER(bytes, name: name)
            } else {
                throw CertificateFileError(
                    .notACertificateFile,
                    "\(name.capitalizedFirst) is neither PEM (-----BEGIN …) nor DER; send the certificate, key and chain files."
                )
            }
            guard material.certificates.count <= maximumCertificates else {
                throw CertificateFileError(
                    .tooManyCertificates,
                    "An upload holds at most \(maximumCertificates) certificates: the certificate and its chain, not a CA bundle."
                )
            }
        }
        return material
    }

    mutating func readPEM(_ text: String, name: String, passphrase: [UInt8]?) throws(CertificateFileError) {
        for document in try Self.importing({ () throws(KeyImportError) in try PEMBlocks.split(text) }) {
            switch document.discriminator {
            case "CERTIFICATE", "TRUSTED CERTIFICATE":
                certificates.append(try Self.certificate(der: document.derBytes, name: name))
            case "PKCS7", "CMS":
                for der in try Self.importing({ () throws(KeyImportError) in try PKCS7Bundle.certificates(der: document.derBytes) }) {
                    certificates.append(try Self.certificate(der: der, name: name))
                }
            case "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY":
                try setKey(try Self.privateKey(document), name: name)
            case "ENCRYPTED PRIVATE KEY":
                guard let passphrase else {
                    throw CertificateFileError(.wrongPassphrase, "The private key in \(name) is encrypted; give its passphrase.")
                }
                let der = try Self.importing { () throws(KeyImportError) in try EncryptedPKCS8.decrypt(der: document.derBytes, passphrase: passphrase)
                }
                try setKey(try Self.privateKey(PEMDocument(type: "PRIVATE KEY", derBytes: der)), name: name)
            case "EC PARAMETERS":
                continue  // `openssl ecparam -genkey` writes the curve name before the key
            case "CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST":
                throw CertificateFileError(
                    .unsupportedPEMType,
                    "\(name.capitalizedFirst) holds a certificate signing request, not a certificate; upload the certificate the CA issued for it."
                )
            case let type:
                throw CertificateFileError(
                    .unsupportedPEMType,
                    "\(name.capitalizedFirst) holds a '\(type.prefix(40))' block; expected certificates, a PKCS#7 bundle or a private key."
                )
            }
        }
    }

    mutating func readDER(_ bytes: [UInt8], name: String) throws(CertificateFileError) {
        if let certificate = try? Certificate(derEncoded: bytes) {
            certificates.append(certificate)
        } else if let ders = try? PKCS7Bundle.certificates(der: bytes) {
            for der in ders { certificates.append(try Self.certificate(der: der, name: name)) }
        } else if let key = try? Certificate.PrivateKey(pemDocument: PEMDocument(type: "PRIVATE KEY", derBytes: bytes)) {
            try setKey(key, name: name)
        } else {
            throw CertificateFileError(.malformedCertificate, "\(name.capitalizedFirst) is DER but not a certificate, PKCS#7 bundle or PKCS#8 key.")
        }
    }

    /// A key-reading step of an upload: its refusal reaches the caller with the same code and message, as
    /// the upload's own error type.
    static func importing<T>(_ work: () throws(KeyImportError) -> T) throws(CertificateFileError) -> T {
        do { return try work() } catch { throw CertificateFileError(error) }
    }

    mutating func setKey(_ key: Certificate.PrivateKey, name: String) throws(CertificateFileError) {
        guard privateKey == nil else {
            throw CertificateFileError(
                .severalPrivateKeys,
                "More than one private key was given (another in \(name)); upload the one key of this certificate."
            )
        }
        privateKey = key
    }

    static func certificate(der: [UInt8], name: String) throws(CertificateFileError) -> Certificate {
        do {
            return try Certificate(derEncoded: der)
        } catch {
            if let imported = try? PublicKeyImport.certificate(der: der, minimumRSABits: 0), case .rsa(let key) = imported.key,
                key.keySizeInBits < 2048
            {
                throw CertificateFileError(
                    .rsaKeyTooSmall,
                    "A certificate in \(name) has a \(key.keySizeInBits)-bit RSA key; TLS certificates need at least 2048 bits."
                )
            }
            throw CertificateFileError(.malformedCertificate, "A certificate in \(name) is not valid X.509 DER (it may be truncated or damaged).")
        }
    }

    static func privateKey(_ document: PEMDocument) throws(CertificateFileError) -> Certificate.PrivateKey {
        do {
            return try Certificate.PrivateKey(pemDocument: document)
        } catch {
            if let rsa = try? _RSA.Signing.PrivateKey(unsafePEMRepresentation: document.pemString), rsa.keySizeInBits < 2048 {
                throw CertificateFileError(.rsaKeyTooSmall, "The private key is \(rsa.keySizeInBits)-bit RSA; TLS keys need at least 2048 bits.")
            }
            throw CertificateFileError(
                .malformedKey,
                "The \(document.discriminator) block is not a private key Keyward reads (RSA, EC P-256/P-384/P-521, Ed25519)."
            )
        }
    }
}

extension String {
    var capitalizedFirst: String { prefix(1).uppercased() + dropFirst() }
}
