import Crypto
import Foundation
import KeywardCrypto
import SwiftASN1
import Testing
import X509

/// Uploads crafted to burn CPU: thousands of certificates for the chain builder, and an encrypted key
/// asking for more PBKDF2 iterations than anyone uses.
@Suite struct UploadWorkLimitsTests {
    /// `count` certificates with distinct names, none issuing another (one key: signing is cheap).
    static func unrelatedCertificates(_ count: Int) throws -> [Certificate] {
        let key = P256.Signing.PrivateKey()
        let now = Date()
        return try (0..<count).map { index in
            try Certificate(
                version: .v3,
                serialNumber: .init(),
                publicKey: .init(key.publicKey),
                notValidBefore: now - 3600,
                notValidAfter: now + 86400,
                issuer: try DistinguishedName { CommonName("Issuer \(index)") },
                subject: try DistinguishedName { CommonName("Subject \(index)") },
                signatureAlgorithm: .ecdsaWithSHA256,
                extensions: Certificate.Extensions(),
                issuerPrivateKey: .init(key)
            )
        }
    }

    /// Chain building is linear in the number of unrelated certificates: four times as many take about four
    /// times as long (quadratic pairing, as before the name indexes, took sixteen times). A ratio, each side
    /// the fastest of three runs, rather than a wall-clock bound: a bound of 2 s for 2,000 certificates is
    /// what a loaded 2-core CI machine with a debug build does not meet every time, and load slows both
    /// sides alike.
    @Test func unrelatedCertificatesAreJudgedInLinearTime() throws {
        func fastest(_ count: Int) throws -> Duration {
            var material = CertificateMaterial()
            material.certificates = try Self.unrelatedCertificates(count)
            var best = Duration.seconds(3600)
            for _ in 0..<3 {
                let start = ContinuousClock.now
                let inspection = CertificateInspection.inspect(material)
                best = min(best, ContinuousClock.now - start)
                #expect(inspection.findings.contains { $0.code.rawValue == "several_leaves" })
            }
            return best
        }
        let small = try fastest(1000)
        let large = try fastest(4000)
        #expect(large < small * 10, "1,000 certificates took \(small), 4,000 took \(large): more than linear")
    }

    @Test func anUploadOfTwoThousandCertificatesIsRefusedWithACode() throws {
        let pem = try Self.unrelatedCertificates(2000).map { try $0.serializeAsPEM().pemString }.joined(separator: "\n")
        let start = ContinuousClock.now
        #expect(throws: CertificateFileError.self) { _ = try CertificateMaterial.read([Array(pem.utf8)]) }
        do { _ = try CertificateMaterial.read([Array(pem.utf8)]) } catch { #expect(error.code.rawValue == "too_many_certificates") }
        // Refused on the count, before any inspection; generous, as no loaded machine needs a minute to read 2,000.
        #expect(ContinuousClock.now - start < .seconds(60))
    }

    /// PBES2 with `rounds` iterations and garbage ciphertext: the iteration count must be judged before any derivation.
    static func encryptedKey(rounds: Int) throws -> [UInt8] {
        var serializer = DER.Serializer()
        try serializer.appendConstructedNode(identifier: .sequence) { info in
            try info.appendConstructedNode(identifier: .sequence) { algorithm in
                try algorithm.serialize(ASN1ObjectIdentifier("1.2.840.113549.1.5.13"))
                try algorithm.appendConstructedNode(identifier: .sequence) { parameters in
                    try parameters.appendConstructedNode(identifier: .sequence) { kdf in
                        try kdf.serialize(ASN1ObjectIdentifier("1.2.840.113549.1.5.12"))
                        try kdf.appendConstructedNode(identifier: .sequence) { kdfParameters in
                            try kdfParameters.serialize(ASN1OctetString(contentBytes: ArraySlice([UInt8](repeating: 7, count: 16))))
                            try kdfParameters.serialize(rounds)
                            try kdfParameters.appendConstructedNode(identifier: .sequence) { prf in
                                try prf.serialize(ASN1ObjectIdentifier("1.2.840.113549.2.9"))
                                try prf.serialize(ASN1Null())
                            }
                        }
                    }
                    try parameters.appendConstructedNode(identifier: .sequence) { cipher in
                        try cipher.serialize(ASN1ObjectIdentifier("2.16.840.1.101.3.4.1.42"))
                        try cipher.serialize(ASN1OctetString(contentBytes: ArraySlice([UInt8](repeating: 1, count: 16))))
                    }
                }
            }
            try info.serialize(ASN1OctetString(contentBytes: ArraySlice([UInt8](repeating: 2, count: 48))))
        }
        return serializer.serializedBytes
    }

    @Test func pbkdf2IterationsOverTheCapAreRefusedBeforeAnyWork() throws {
        // Two billion iterations pin a core for many minutes: a refusal within a minute (generous for any
        // loaded machine) was judged before any derivation. (Just over the cap, a derivation first took
        // about as long as the 500 ms bound this test had, which a loaded CI machine does not meet every time.)
        let start = ContinuousClock.now
        do {
            _ = try EncryptedPKCS8.decrypt(der: try Self.encryptedKey(rounds: 2_000_000_000), passphrase: Array("x".utf8))
            Issue.record("decrypted a key over the iteration cap")
        } catch let error as KeyImportError {
            #expect(error.code.rawValue == "pbkdf2_rounds_too_high")
        }
        #expect(ContinuousClock.now - start < .seconds(60))
        // At a usual count the passphrase is what fails (the work was done).
        #expect(throws: (any Error).self) { _ = try EncryptedPKCS8.decrypt(der: try Self.encryptedKey(rounds: 2048), passphrase: Array("x".utf8)) }
    }
}
