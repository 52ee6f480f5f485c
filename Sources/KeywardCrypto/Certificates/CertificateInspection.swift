import Crypto
import CryptoExtras
import Foundation
import SwiftASN1
import X509

/// One thing found about an upload: errors stop it from being stored, warnings and notes are shown.
public struct CertificateFinding: Sendable, Equatable, Codable {
    public enum Severity: String, Sendable, Codable { case error, warning, note }
    public let severity: Severity
    /// Stable code: `no_certificate`, `key_mismatch`, `several_leaves`, `chain_broken`, `chain_loop`,
    /// `chain_reordered`, `chain_incomplete`, `self_signed`, `not_yet_valid`, `certificate_expired`,
    /// `unknown_critical_extension`, `no_subject_alt_names`, `leaf_is_ca`, `no_private_key`.
    public let code: ErrorCode
    public let message: String

    init(_ severity: Severity, _ code: ErrorCode, _ message: String) {
        self.severity = severity
        self.code = code
        self.message = message
    }
}

/// What a person reading a certificate wants to know about it.
public struct CertificateSummary: Sendable, Codable, Equatable {
    public let subject: String
    public let issuer: String
    public let serial: String
    public let notBefore: Date
    public let notAfter: Date
    public let subjectAltNames: [String]
    /// e.g. `RSA 2048`, `EC P-256`, `Ed25519`.
    public let keyType: String
    public let isCA: Bool
    public let selfSigned: Bool
    /// SHA-256 of the DER, lowercase hex.
    public let sha256Fingerprint: String

    enum CodingKeys: String, CodingKey {
        case subject, issuer, serial
        case notBefore = "not_before"
        case notAfter = "not_after"
        case subjectAltNames = "subject_alt_names"
        case keyType = "key_type"
        case isCA = "is_ca"
        case selfSigned = "self_signed"
        case sha256Fingerprint = "sha256_fingerprint"
    }

    public init(_ certificate: Certificate) {
        subject = certificate.subject.description
        issuer = certificate.issuer.description
        serial = certificate.serialNumber.description
        notBefore = certificate.notValidBefore
        notAfter = certificate.notValidAfter
        subjectAltNames = CertificateInspection.names(certificate)
        keyType = CertificateInspection.keyType(certificate.publicKey)
        isCA = (try? certificate.extensions.basicConstraints).map { if case .isCertificateAuthority = $0 { true } else { false } } ?? false
        selfSigned = CertificateInspection.issued(certificate, by: certificate)
        sha256Fingerprint = Hex.encode(SHA256.hash(data: CertificateInspection.der(certificate)))
    }
}

/// An upload judged as a whole: the leaf, the chain put in order, whether the key matches, and every
/// problem found, each explained. Nothing is fatal here; `isAcceptable` says whether it may be stored.
public struct CertificateInspection: Sendable {
    /// The server certificate.
    public let leaf: Certificate?
    /// Leaf first, then each issuer in turn (as far as the upload goes).
    public let chain: [Certificate]
    public let privateKey: Certificate.PrivateKey?
    /// `nil` without a private key.
    public let keyMatches: Bool?
    public let findings: [CertificateFinding]

    /// No errors (warnings and notes allowed).
    public var isAcceptable: Bool { !findings.contains { $0.severity == .error } }

    static let knownExtensions: Set<ASN1ObjectIdentifier> = [
        [2, 5, 29, 19], [2, 5, 29, 15], [2, 5, 29, 37], [2, 5, 29, 17], [2, 5, 29, 30], [2, 5, 29, 32], [2, 5, 29, 36],
        [2, 5, 29, 54], [2, 5, 29, 14], [2, 5, 29, 35], [1, 3, 6, 1, 5, 5, 7, 1, 1], [2, 5, 29, 31], [1, 3, 6, 1, 4, 1, 11129, 2, 4, 2],
    ]

    /// Inspects `material` at `now`. `requirePrivateKey` for uploads that will be served (TLS);
    /// `expectCAChain` makes a self-signed leaf a warning.
    public static func inspect(
        _ material: CertificateMaterial,
        now: Date = Date(),
        requirePrivateKey: Bool = false,
        expectCAChain: Bool = true
    ) -> CertificateInspection {
        var findings: [CertificateFinding] = []
        // Duplicates (the same certificate twice in a combined file) are not a problem worth reporting.
        // Sets and name indexes keep this linear in the number of certificates: signatures are checked
        // only between certificates whose names link (issuer of one = subject of the other).
        var unique: [Certificate] = []
        var seen = Set<Certificate>()
        for certificate in material.certificates where seen.insert(certificate).inserted { unique.append(certificate) }
        let bySubject = Dictionary(grouping: unique, by: \.subject)
        let byIssuer = Dictionary(grouping: unique, by: \.issuer)
        guard !unique.isEmpty else {
            return CertificateInspection(
                leaf: nil,
                chain: [],
                privateKey: material.privateKey,
                keyMatches: nil,
                findings: [CertificateFinding(.error, .noCertificate, "The upload holds no certificate.")]
            )
        }
        let key = material.privateKey
        var leaf: Certificate
        var keyMatches: Bool?
        if let key, let owner = unique.first(where: { $0.publicKey == key.publicKey }) {
            leaf = owner
            keyMatches = true
        } else {
            let candidates = unique.filter { candidate in
                !(byIssuer[candidate.subject] ?? []).contains { $0 != candidate && issued($0, by: candidate) }
            }
            leaf = candidates.first(where: { !isCA($0) }) ?? candidates.first ?? unique[0]
            if candidates.count > 1 {
                findings.append(
                    CertificateFinding(
                        .error,
                        .severalLeaves,
                        "These certificates are not one chain: \(candidates.map { "'\($0.subject)'" }.joined(separator: ", ")) each stand alone. Upload one certificate with its own chain."
                    )
                )
            }
            if key != nil {
                keyMatches = false
                findings.append(
                    CertificateFinding(
                        .error,
                        .keyMismatch,
                        "The private key does not belong to '\(leaf.subject)' (nor to any certificate given). Upload the key the certificate was issued for."
                    )
                )
            }
        }
        if key == nil && requirePrivateKey {
            findings.append(CertificateFinding(.error, .noPrivateKey, "No private key was given; a certificate that is served needs its key."))
        }

        // Walk from the leaf to each issuer among the given certificates.
        var chain = [leaf]
        var remaining = seen
        remaining.remove(leaf)
        var current = leaf
        while !issued(current, by: current) {
            if let next = (bySubject[current.issuer] ?? []).first(where: { remaining.contains($0) && issued(current, by: $0) }) {
                chain.append(next)
                remaining.remove(next)
                current = next
            } else if chain.dropLast().contains(where: { issued(current, by: $0) }) {
                findings.append(
                    CertificateFinding(.error, .chainLoop, "The chain loops: '\(current.subject)' is issued by a certificate that comes before it.")
                )
                break
            } else {
                if let namesake = (bySubject[current.issuer] ?? []).first(where: { remaining.contains($0) }) {
                    findings.append(
                        CertificateFinding(
                            .error,
                            .chainBroken,
                            "'\(namesake.subject)' has the name of the issuer of '\(current.subject)' but did not sign it (another key: a reissued or wrong intermediate)."
                        )
                    )
                    remaining.remove(namesake)
                } else if current == leaf && chain.count == 1 && unique.count == 1 {
                    findings.append(
                        CertificateFinding(
                            .note,
                            .chainIncomplete,
                            "No chain was given: clients must already have '\(current.issuer)' or fetch it; most need the intermediate certificates."
                        )
                    )
                } else {
                    findings.append(
                        CertificateFinding(
                            .note,
                            .chainIncomplete,
                            "The chain ends at '\(current.subject)', issued by '\(current.issuer)', which clients must already trust (a root is not sent)."
                        )
                    )
                }
                break
            }
        }
        for stray in unique where remaining.contains(stray) {
            findings.append(
                CertificateFinding(
                    .error,
                    .chainBroken,
                    "'\(stray.subject)' (issued by '\(stray.issuer)') is not part of the chain of '\(leaf.subject)'."
                )
            )
        }
        let givenOrder = material.certificates.filter { chain.contains($0) }.reduce(into: [Certificate]()) { if !$0.contains($1) { $0.append($1) } }
        if givenOrder != chain && chain.count > 1 {
            findings.append(
                CertificateFinding(
                    .note,
                    .chainReordered,
                    "The chain was given out of order; Keyward put it in order: \(chain.map { "'\($0.subject)'" }.joined(separator: " → "))."
                )
            )
        }
        if issued(leaf, by: leaf) {
            findings.append(
                CertificateFinding(
                    expectCAChain ? .warning : .note,
                    .selfSigned,
                    "'\(leaf.subject)' is self-signed: browsers and API clients will not trust it unless told to."
                )
            )
        }
        if isCA(leaf) && !issued(leaf, by: leaf) {
            findings.append(CertificateFinding(.warning, .leafIsCA, "'\(leaf.subject)' is a CA certificate; a server certificate should not be one."))
        }
        for certificate in chain {
            if certificate.notValidBefore > now {
                findings.append(
                    CertificateFinding(
                        .error,
                        .notYetValid,
                        "'\(certificate.subject)' is not valid before \(certificate.notValidBefore.formatted(.iso8601))."
                    )
                )
            }
            if certificate.notValidAfter <= now {
                findings.append(
                    CertificateFinding(
                        .error,
                        .certificateExpired,
                        "'\(certificate.subject)' expired on \(certificate.notValidAfter.formatted(.iso8601))."
                    )
                )
            }
            for ext in certificate.extensions where ext.critical && !knownExtensions.contains(ext.oid) {
                findings.append(
                    CertificateFinding(
                        .error,
                        .unknownCriticalExtension,
                        "'\(certificate.subject)' has a critical extension Keyward does not understand (\(ext.oid)); clients will reject it."
                    )
                )
            }
        }
        if names(leaf).isEmpty {
            findings.append(
                CertificateFinding(
                    .warning,
                    .noSubjectAltNames,
                    "'\(leaf.subject)' names no DNS names or addresses (subjectAltName); clients ignore the common name."
                )
            )
        }
        return CertificateInspection(leaf: leaf, chain: chain, privateKey: key, keyMatches: keyMatches, findings: findings)
    }

    /// Whether `certificate` was signed by `issuer` (names match and the signature verifies).
    static func issued(_ certificate: Certificate, by issuer: Certificate) -> Bool {
        certificate.issuer == issuer.subject && issuer.publicKey.isValidSignature(certificate.signature, for: certificate)
    }

    static func isCA(_ certificate: Certificate) -> Bool {
        if case .isCertificateAuthority = (try? certificate.extensions.basicConstraints) ?? .notCertificateAuthority { return true }
        return false
    }

    /// DNS names and IP addresses of the subjectAltName extension.
    static func names(_ certificate: Certificate) -> [String] {
        guard let names = try? certificate.extensions.subjectAlternativeNames else { return [] }
        return names.compactMap { name in
            switch name {
            case .dnsName(let dns): return dns
            case .ipAddress(let bytes):
                let octets = Array(bytes.bytes)
                return octets.count == 4 ? octets.map(String.init).joined(separator: ".") : octets.count == 16 ? ipv6(octets) : nil
            default: return nil
            }
        }
    }

    static func ipv6(_ bytes: [UInt8]) -> String {
        stride(from: 0, to: 16, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }.joined(separator: ":")
    }

    static func keyType(_ key: Certificate.PublicKey) -> String {
        if let rsa = _RSA.Signing.PublicKey(key) { return "RSA \(rsa.keySizeInBits)" }
        if P256.Signing.PublicKey(key) != nil { return "EC P-256" }
        if P384.Signing.PublicKey(key) != nil { return "EC P-384" }
        if P521.Signing.PublicKey(key) != nil { return "EC P-521" }
        if Curve25519.Signing.PublicKey(key) != nil { return "Ed25519" }
        return "unknown"
    }

    static func der(_ certificate: Certificate) -> [UInt8] {
        var serializer = DER.Serializer()
        try? serializer.serialize(certificate)
        return serializer.serializedBytes
    }
}
