import Foundation
import KeywardCrypto
import KeywardTestSupport
import Testing
import X509

extension TestPKI {
    func inspect(_ files: [String], passphrase: String? = nil, now: Date = Date()) throws -> CertificateInspection {
        let material = try CertificateMaterial.read(try files.map { try bytes($0) }, passphrase: passphrase.map { Array($0.utf8) })
        return CertificateInspection.inspect(material, now: now, requirePrivateKey: true)
    }
}

@Suite struct CertificateInspectionTests {
    func codes(_ inspection: CertificateInspection) -> [String] { inspection.findings.map(\.code.rawValue) }

    @Test func aGoodUploadInAnyShapeIsAccepted() throws {
        let pki = try TestPKI()
        // Separate files, PKCS#8 key.
        let separate = try pki.inspect(["leaf.crt", "leaf.key", "inter.crt"])
        #expect(separate.isAcceptable, "\(separate.findings)")
        #expect(separate.keyMatches == true)
        #expect(separate.chain.map { $0.subject.description } == ["CN=shop.example", "CN=Test Intermediate"])
        let summary = CertificateSummary(try #require(separate.leaf))
        #expect(summary.subjectAltNames == ["shop.example", "www.shop.example", "192.0.2.7"])
        #expect(summary.keyType == "EC P-256")
        #expect(summary.issuer == "CN=Test Intermediate")
        // One combined file in the `cat key crt chain` habit, chain out of order and the root included.
        try pki.write("combined.pem", try pki.read("root.crt") + pki.read("leaf.key") + pki.read("leaf.crt") + pki.read("inter.crt"))
        let combined = try pki.inspect(["combined.pem"])
        #expect(combined.isAcceptable, "\(combined.findings)")
        #expect(combined.chain.count == 3)
        #expect(codes(combined).contains("chain_reordered"))
        // SEC1 and encrypted PKCS#8 keys; DER certificate; PKCS#7 chain.
        try pki.keys.openssl(["ec", "-in", pki.path("leaf.key"), "-out", pki.path("leaf.sec1")])
        #expect(try pki.inspect(["leaf.crt", "leaf.sec1"]).keyMatches == true)
        try pki.keys.openssl([
            "pkcs8", "-topk8", "-in", pki.path("leaf.key"), "-v2", "aes-256-cbc", "-passout", "pass:open sesame", "-out", pki.path("leaf.enc"),
        ])
        #expect(try pki.inspect(["leaf.crt", "leaf.enc"], passphrase: "open sesame").keyMatches == true)
        #expect { try pki.inspect(["leaf.crt", "leaf.enc"], passphrase: "wrong") } throws: {
            ($0 as? CertificateFileError)?.code.rawValue == "wrong_passphrase"
        }
        try pki.keys.openssl(["x509", "-in", pki.path("leaf.crt"), "-outform", "DER", "-out", pki.path("leaf.der")])
        try pki.keys.openssl(["crl2pkcs7", "-nocrl", "-certfile", pki.path("inter.crt"), "-out", pki.path("chain.p7b")])
        let mixed = try pki.inspect(["leaf.der", "leaf.key", "chain.p7b"])
        #expect(mixed.isAcceptable && mixed.chain.count == 2, "\(mixed.findings)")
    }

    @Test func problemsAreNamed() throws {
        let pki = try TestPKI()
        try pki.ecKey("stranger")
        #expect(codes(try pki.inspect(["leaf.crt", "stranger.key", "inter.crt"])).contains("key_mismatch"))
        #expect(codes(try pki.inspect(["leaf.crt", "inter.crt"])).contains("no_private_key"))
        // An intermediate with the right name from another root: named, not silently dropped.
        try pki.root("other", cn: "Other Root")
        try pki.issue("fake", cn: "Test Intermediate", by: "other", ext: "ca.ext")
        let broken = try pki.inspect(["leaf.crt", "leaf.key", "fake.crt"])
        #expect(codes(broken).contains("chain_broken"), "\(broken.findings)")
        #expect(broken.findings.first { $0.code.rawValue == "chain_broken" }?.message.contains("did not sign") == true)
        // A certificate that belongs to nothing.
        #expect(codes(try pki.inspect(["leaf.crt", "leaf.key", "inter.crt", "other.crt"])).contains("chain_broken"))
        // Dates, judged at another moment.
        #expect(
            codes(try pki.inspect(["leaf.crt", "leaf.key", "inter.crt"], now: Date().addingTimeInterval(100 * 86400))).contains("certificate_expired")
        )
        #expect(codes(try pki.inspect(["leaf.crt", "leaf.key", "inter.crt"], now: Date().addingTimeInterval(-86400))).contains("not_yet_valid"))
        // Self-signed where a CA chain was expected.
        try pki.keys.openssl([
            "req", "-x509", "-key", pki.path("leaf.key"), "-subj", "/CN=shop.example", "-days", "30",
            "-addext", "subjectAltName=DNS:shop.example", "-out", pki.path("self.crt"),
        ])
        let selfSigned = try pki.inspect(["self.crt", "leaf.key"])
        #expect(codes(selfSigned).contains("self_signed") && selfSigned.isAcceptable)
        // An unknown critical extension.
        try pki.write("odd.ext", "basicConstraints=critical,CA:FALSE\nsubjectAltName=DNS:odd.example\n1.2.3.4.5=critical,ASN1:NULL\n")
        try pki.issue("odd", cn: "odd.example", by: "inter", ext: "odd.ext")
        #expect(codes(try pki.inspect(["odd.crt", "odd.key", "inter.crt"])).contains("unknown_critical_extension"))
        // Two unrelated leaves.
        #expect(codes(try pki.inspect(["leaf.crt", "odd.crt"])).contains("several_leaves"))
    }

    @Test func aLoopIsReported() throws {
        let pki = try TestPKI()
        // A and B cross-sign each other; the leaf is issued by A.
        try pki.root("a", cn: "Loop A")
        try pki.root("b", cn: "Loop B")
        try pki.keys.openssl(["req", "-new", "-key", pki.path("a.key"), "-subj", "/CN=Loop A", "-out", pki.path("a.csr")])
        try pki.keys.openssl([
            "x509", "-req", "-in", pki.path("a.csr"), "-CA", pki.path("b.crt"), "-CAkey", pki.path("b.key"), "-CAcreateserial",
            "-days", "30", "-extfile", pki.path("ca.ext"), "-out", pki.path("a-by-b.crt"),
        ])
        try pki.keys.openssl(["req", "-new", "-key", pki.path("b.key"), "-subj", "/CN=Loop B", "-out", pki.path("b.csr")])
        try pki.keys.openssl([
            "x509", "-req", "-in", pki.path("b.csr"), "-CA", pki.path("a.crt"), "-CAkey", pki.path("a.key"), "-CAcreateserial",
            "-days", "30", "-extfile", pki.path("ca.ext"), "-out", pki.path("b-by-a.crt"),
        ])
        try pki.issue("looped", cn: "loop.example", by: "a", ext: "leaf.ext")
        let inspection = try pki.inspect(["looped.crt", "looped.key", "a-by-b.crt", "b-by-a.crt"])
        #expect(codes(inspection).contains("chain_loop"), "\(inspection.findings)")
    }

    @Test func garbageIsRefusedWithAReason() throws {
        func code(_ bytes: [UInt8]) -> String? {
            do {
                _ = try CertificateMaterial.read([bytes])
                return nil
            } catch { return error.code.rawValue }
        }
        #expect(code(Array("hello".utf8)) == "not_a_certificate_file")
        #expect(code([0x30, 0x03, 0x01, 0x01, 0xff]) == "malformed_certificate")
        #expect(code(Array(repeating: 0x41, count: CertificateMaterial.maximumFileBytes + 1)) == "file_too_large")
        #expect(code(Array("-----BEGIN CERTIFICATE-----\nAAAA\n".utf8)) == "not_pem")
        #expect(code(Array("-----BEGIN CERTIFICATE-----\nMIIBAAAA\n-----END CERTIFICATE-----\n".utf8)) == "malformed_certificate")
        let pki = try TestPKI()
        try pki.keys.openssl(["req", "-new", "-key", pki.path("leaf.key"), "-subj", "/CN=x", "-out", pki.path("x.csr")])
        #expect(code(try pki.bytes("x.csr")) == "unsupported_pem_type")
        #expect(code(try pki.bytes("leaf.key") + pki.bytes("inter.key")) == "several_private_keys")
        #expect(
            CertificateInspection.inspect(try CertificateMaterial.read([try pki.bytes("leaf.key")])).findings.map(\.code.rawValue) == [
                "no_certificate"
            ]
        )
    }
}
