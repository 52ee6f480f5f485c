import Foundation
import KeywardCrypto
import KeywardTestSupport
import Testing

@Suite struct KeyImportTests {
    @Test func readsEveryPublicFormOpenSSLWrites() throws {
        let keys = try KeyFixtures()
        try keys.rsa("merchant")
        try keys.certificate("merchant", days: 30)
        for file in ["merchant.pub", "merchant.pkcs1.pub", "merchant.crt"] {
            let imported = try PublicKeyImport.parse(pem: try keys.read(file))
            #expect(imported.count == 1)
            #expect(imported.first?.key.algorithmDescription == "RSA 2048", "\(file)")
        }
        let certificate = try #require(try PublicKeyImport.parse(pem: try keys.read("merchant.crt")).first)
        #expect(certificate.source == .certificate)
        let notAfter = try #require(certificate.notValidAfter)
        #expect(abs(notAfter.timeIntervalSinceNow - 30 * 86400) < 120)
        // A bundle: certificate and key in one file, in order.
        let bundle = try keys.read("merchant.crt") + "\nsome comment\n" + (try keys.read("merchant.pub"))
        #expect(try PublicKeyImport.parse(pem: bundle).map(\.source) == [.certificate, .spki])
    }

    @Test func ecAndEd25519Keys() throws {
        let keys = try KeyFixtures()
        for (algorithm, options, expected) in [
            ("EC", ["-pkeyopt", "ec_paramgen_curve:P-256"], "EC P-256"),
            ("EC", ["-pkeyopt", "ec_paramgen_curve:P-384"], "EC P-384"),
            ("ED25519", [], "Ed25519"),
        ] {
            try keys.openssl(["genpkey", "-algorithm", algorithm] + options + ["-out", keys.path("k.pem")])
            try keys.openssl(["pkey", "-in", keys.path("k.pem"), "-pubout", "-out", keys.path("k.pub")])
            let key = try #require(try PublicKeyImport.parse(pem: try keys.read("k.pub")).first?.key)
            #expect(key.algorithmDescription == expected)
            // Our SPKI export is what openssl wrote.
            #expect(
                key.spkiPEM.trimmingCharacters(in: .whitespacesAndNewlines)
                    == (try keys.read("k.pub")).trimmingCharacters(in: .whitespacesAndNewlines)
            )
        }
    }

    /// The public myPOS sandbox key is RSA 1024: accepted only when the caller allows it (test mode).
    @Test func smallRSAKeysOnlyWhenAllowed() throws {
        let keys = try KeyFixtures()
        try keys.rsa("sandbox", bits: 1024)
        try keys.certificate("sandbox")
        #expect { try PublicKeyImport.parse(pem: try keys.read("sandbox.crt")) } throws: {
            ($0 as? KeyImportError)?.code.rawValue == "rsa_key_too_small"
        }
        #expect(try PublicKeyImport.parse(pem: try keys.read("sandbox.crt"), minimumRSABits: 1024).first?.key.algorithmDescription == "RSA 1024")
        #expect { try RSASigningKey(pem: try keys.read("sandbox.pem")) } throws: { ($0 as? KeyImportError)?.code.rawValue == "rsa_key_too_small" }
        _ = try RSASigningKey(pem: try keys.read("sandbox.pem"), minimumBits: 1024)
    }

    @Test func badUploadsSayWhatIsWrong() throws {
        let keys = try KeyFixtures()
        try keys.rsa("k")
        let pem = try keys.read("k.pub")
        let cases: [(String, String)] = [
            ("", "not_pem"), ("hello", "not_pem"),
            (String(pem.prefix(pem.count / 2)), "not_pem"),
            (pem.replacingOccurrences(of: "PUBLIC KEY", with: "X509 CRL"), "unsupported_pem_type"),
            (try keys.read("k.pem"), "private_key_not_accepted"),
            ("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "malformed_key"),
        ]
        for (text, code) in cases {
            #expect { try PublicKeyImport.parse(pem: text) } throws: { ($0 as? KeyImportError)?.code.rawValue == code }
        }
        // The messages never contain key material.
        do { _ = try PublicKeyImport.parse(pem: try keys.read("k.pem")) } catch { #expect(!String(describing: error).contains("MII")) }
    }

    @Test func privateKeysInEveryFormIncludingEncrypted() throws {
        let keys = try KeyFixtures()
        try keys.rsa("m")
        try keys.openssl([
            "pkcs8", "-topk8", "-in", keys.path("m.pem"), "-v2", "aes-256-cbc", "-passout", "pass:correct horse", "-out", keys.path("m.enc.pem"),
        ])
        let message = Array("payload".utf8)
        let reference = try RSASigningKey(pem: try keys.read("m.pem")).signPKCS1v15(message, digest: .sha256)
        #expect(try RSASigningKey(pem: try keys.read("m.pkcs1.pem")).signPKCS1v15(message, digest: .sha256) == reference)
        #expect(
            try RSASigningKey(pem: try keys.read("m.enc.pem"), passphrase: Array("correct horse".utf8)).signPKCS1v15(message, digest: .sha256)
                == reference
        )
        #expect { try RSASigningKey(pem: try keys.read("m.enc.pem"), passphrase: Array("wrong".utf8)) } throws: {
            ($0 as? KeyImportError)?.code.rawValue == "wrong_passphrase"
        }
        #expect { try RSASigningKey(pem: try keys.read("m.enc.pem")) } throws: { ($0 as? KeyImportError)?.code.rawValue == "wrong_passphrase" }
        #expect { try RSASigningKey(pem: try keys.read("m.pub")) } throws: { ($0 as? KeyImportError)?.code.rawValue == "malformed_key" }
    }

    /// PKCS#1 v1.5 is deterministic: our signature must equal openssl's byte for byte.
    @Test(arguments: [SignatureDigest.sha256, .sha1, .sha512])
    func signaturesEqualOpenSSL(digest: SignatureDigest) throws {
        let keys = try KeyFixtures()
        try keys.rsa("s")
        let message = Data("{\"amount\":\"10.00\",\"order\":\"ü\"}".utf8)
        try message.write(to: URL(fileURLWithPath: keys.path("msg")))
        try keys.openssl(["dgst", "-\(digest.rawValue)", "-sign", keys.path("s.pem"), "-out", keys.path("sig"), keys.path("msg")])
        let theirs = try #require(FileManager.default.contents(atPath: keys.path("sig")))
        let key = try RSASigningKey(pem: try keys.read("s.pem"))
        #expect(try key.signPKCS1v15(Array(message), digest: digest) == Array(theirs))
        let publicKey = try #require(try PublicKeyImport.parse(pem: try keys.read("s.pub")).first?.key)
        #expect(publicKey.isValidPKCS1v15Signature(Array(theirs), for: Array(message), digest: digest))
        #expect(!publicKey.isValidPKCS1v15Signature(Array(theirs), for: Array(message) + [0x20], digest: digest))
    }

    @Test func generatedKeysWorkWithOpenSSL() throws {
        let keys = try KeyFixtures()
        let key = try RSASigningKey.generate(bits: 2048)
        #expect(key.bits == 2048)
        try Data(key.pkcs8PEM.utf8).write(to: URL(fileURLWithPath: keys.path("g.pem")))
        let modulusBits = try keys.openssl(["pkey", "-in", keys.path("g.pem"), "-noout", "-text"])
        #expect(modulusBits.contains("2048 bit"))
        #expect(throws: KeyImportError.self) { try RSASigningKey.generate(bits: 1024) }
    }
}
