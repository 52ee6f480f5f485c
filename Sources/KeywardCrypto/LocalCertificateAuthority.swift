import Crypto
import Foundation
import SwiftASN1
import X509

/// The embedded default's own certificate authority: created once under the data directory, it issues
/// the HTTPS certificate for `localhost` and the configured host names, so a newcomer gets real TLS with
/// one CA file to trust (`curl --cacert`), and never a disabled verification.
///
/// The CA private key is stored sealed under the master key; leaf keys live only in memory and a new
/// leaf is issued at each start.
public struct LocalCertificateAuthority: Sendable {
    /// The CA certificate.
    public let certificate: Certificate
    private let privateKey: P256.Signing.PrivateKey

    /// A new CA named after `commonName`, valid for ten years.
    public static func create(commonName: String = "Keyward Local CA", now: Date = Date()) throws -> LocalCertificateAuthority {
        let key = P256.Signing.PrivateKey()
        let publicKey = Certificate.PublicKey(key.publicKey)
        let name = try DistinguishedName {
            OrganizationName("Keyward")
            CommonName(commonName)
        }
        let extensions = try Certificate.Extensions {
            Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
            Critical(KeyUsage(keyCertSign: true, cRLSign: true))
            SubjectKeyIdentifier(hash: publicKey)
        }
        let certificate = try Certificate(
            version: .v3,
            serialNumber: .init(),
            publicKey: publicKey,
            notValidBefore: now.addingTimeInterval(-300),
            notValidAfter: now.addingTimeInterval(3650 * 86400),
            issuer: name,
            subject: name,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: extensions,
            issuerPrivateKey: .init(key)
        )
        return LocalCertificateAuthority(certificate: certificate, privateKey: key)
    }

    /// Restores a CA from its certificate PEM and its private key PEM (PKCS#8).
    public init(certificatePEM: String, privateKeyPEM: String) throws {
        self.certificate = try Certificate(pemEncoded: certificatePEM)
        self.privateKey = try P256.Signing.PrivateKey(pemRepresentation: privateKeyPEM)
        guard certificate.publicKey == Certificate.PublicKey(privateKey.publicKey) else {
            throw CertificateAuthorityError.keyDoesNotMatchCertificate
        }
    }

    private init(certificate: Certificate, privateKey: P256.Signing.PrivateKey) {
        self.certificate = certificate
        self.privateKey = privateKey
    }

    /// The CA certificate as PEM.
    public var certificatePEM: String {
        get throws { try certificate.serializeAsPEM().pemString }
    }

    /// The CA private key as PKCS#8 PEM: seal it before it touches a disk.
    public var privateKeyPEM: String { privateKey.pemRepresentation }

    /// Issues a TLS server certificate for `hostnames` (DNS names or IP literals), valid `days` days.
    public func issueServerCertificate(hostnames: [String], days: Int = 90, now: Date = Date()) throws -> IssuedCertificate {
        let key = P256.Signing.PrivateKey()
        let publicKey = Certificate.PublicKey(key.publicKey)
        let names = try hostnames.map(Self.generalName)
        let first = hostnames.first ?? "localhost"
        let extensions = try Certificate.Extensions {
            Critical(BasicConstraints.notCertificateAuthority)
            Critical(KeyUsage(digitalSignature: true))
            try ExtendedKeyUsage([.serverAuth])
            SubjectAlternativeNames(names)
            SubjectKeyIdentifier(hash: publicKey)
            if let caKeyID = try? certificate.extensions.subjectKeyIdentifier?.keyIdentifier {
                AuthorityKeyIdentifier(keyIdentifier: caKeyID)
            }
        }
        let leaf = try Certificate(
            version: .v3,
            serialNumber: .init(),
            publicKey: publicKey,
            notValidBefore: now.addingTimeInterval(-300),
            notValidAfter: now.addingTimeInterval(Double(days) * 86400),
            issuer: certificate.subject,
            subject: try DistinguishedName { CommonName(first) },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: extensions,
            issuerPrivateKey: .init(privateKey)
        )
        return IssuedCertificate(certificate: leaf, privateKeyPEM: key.pemRepresentation)
    }

    static func generalName(_ host: String) throws -> GeneralName {
        if let bytes = IPAddressBytes.parse(host) {
            return .ipAddress(ASN1OctetString(contentBytes: ArraySlice(bytes)))
        }
        let valid =
            !host.isEmpty && host.utf8.count <= 253
            && host.utf8.allSatisfy { c in
                c == UInt8(ascii: ".") || c == UInt8(ascii: "-") || c == UInt8(ascii: "*")
                    || (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
                    || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
            }
        guard valid else { throw CertificateAuthorityError.invalidHostname(host) }
        return .dnsName(host.lowercased())
    }
}

/// A certificate with its freshly generated private key.
public struct IssuedCertificate: Sendable {
    /// The issued certificate.
    public let certificate: Certificate
    /// Its private key, PKCS#8 PEM.
    public let privateKeyPEM: String

    /// DER bytes of the certificate.
    public var certificateDER: [UInt8] {
        get throws {
            var serializer = DER.Serializer()
            try serializer.serialize(certificate)
            return serializer.serializedBytes
        }
    }
}

/// Problems creating or loading the local CA.
public enum CertificateAuthorityError: Error, CustomStringConvertible, Sendable {
    case keyDoesNotMatchCertificate
    case invalidHostname(String)

    public var description: String {
        switch self {
        case .keyDoesNotMatchCertificate: "the local CA key does not match its certificate"
        case .invalidHostname(let host): "'\(host)' is neither a DNS name nor an IP address"
        }
    }
}

/// Parses textual IPv4 and IPv6 addresses to their network-order bytes.
public enum IPAddressBytes {
    /// 4 bytes for IPv4, 16 for IPv6 (an embedded IPv4 tail and a `%zone` are accepted), `nil` otherwise.
    public static func parse(_ text: String) -> [UInt8]? {
        var host = text
        if let percent = host.firstIndex(of: "%") { host = String(host[..<percent]) }
        if host.contains(":") { return parseIPv6(host) }
        return parseIPv4(host)
    }

    static func parseIPv4(_ text: String) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var bytes = [UInt8]()
        for part in parts {
            guard (1...3).contains(part.count), part.allSatisfy(\.isASCII), part.allSatisfy(\.isNumber),
                !(part.count > 1 && part.first == "0"), let value = UInt8(part)
            else { return nil }
            bytes.append(value)
        }
        return bytes
    }

    static func parseIPv6(_ text: String) -> [UInt8]? {
        guard text.utf8.count <= 45 else { return nil }
        let halves = text.components(separatedBy: "::")
        guard halves.count <= 2 else { return nil }
        func groups(_ part: String) -> [UInt8]? {
            if part.isEmpty { return [] }
            var bytes = [UInt8]()
            let pieces = part.split(separator: ":", omittingEmptySubsequences: false)
            for (index, piece) in pieces.enumerated() {
                if index == pieces.count - 1, piece.contains(".") {
                    guard let v4 = parseIPv4(String(piece)) else { return nil }
                    bytes += v4
                } else {
                    guard (1...4).contains(piece.count), let value = UInt16(piece, radix: 16) else { return nil }
                    bytes += [UInt8(value >> 8), UInt8(value & 0xff)]
                }
            }
            return bytes
        }
        guard let head = groups(halves[0]) else { return nil }
        if halves.count == 1 { return head.count == 16 ? head : nil }
        guard let tail = groups(halves[1]), head.count + tail.count < 16 else { return nil }
        return head + [UInt8](repeating: 0, count: 16 - head.count - tail.count) + tail
    }
}
