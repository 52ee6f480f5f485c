import Foundation
import KeywardCrypto
import KeywardTestSupport
import Testing

@Suite struct KeyGenerationTests {
    /// Every generated private key is PKCS#8 that openssl reads, and it signs what its public key verifies.
    @Test(arguments: KeyAlgorithm.allCases.filter { $0 != .rsa4096 })
    func generatedPairsWorkEverywhere(algorithm: KeyAlgorithm) throws {
        let keys = try KeyFixtures()
        let pair = try GeneratedKeyPair.generate(algorithm)
        #expect(pair.privateKeyPEM.hasPrefix("-----BEGIN PRIVATE KEY-----"))
        try Data(pair.privateKeyPEM.utf8).write(to: URL(fileURLWithPath: keys.path("k.pem")))
        let text = try keys.openssl(["pkey", "-in", keys.path("k.pem"), "-pubout"])
        // openssl derives the same public key we export.
        #expect(text.trimmingCharacters(in: .whitespacesAndNewlines) == pair.publicKey.spkiPEM.trimmingCharacters(in: .whitespacesAndNewlines))
        let reread = try HTTPSigningKey(pem: pair.privateKeyPEM)
        #expect(reread.algorithm == pair.signingKey.algorithm)
        let base = Array("\"@method\": GET".utf8)
        #expect(HTTPMessageSignatures.verify(try reread.sign(base), base: base, key: pair.publicKey, algorithm: reread.algorithm))
    }

    @Test func importsOpenSSLsOwnECAndEd25519Keys() throws {
        let keys = try KeyFixtures()
        try keys.openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", keys.path("sec1.pem")])  // SEC1 "EC PRIVATE KEY"
        #expect(try HTTPSigningKey(pem: try keys.read("sec1.pem")).algorithm == .ecdsaP256SHA256)
        try keys.openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384", "-out", keys.path("p384.pem")])
        #expect(try HTTPSigningKey(pem: try keys.read("p384.pem")).algorithm == .ecdsaP384SHA384)
        try keys.openssl(["genpkey", "-algorithm", "ED25519", "-out", keys.path("ed.pem")])
        #expect(try HTTPSigningKey(pem: try keys.read("ed.pem")).algorithm == .ed25519)
        try keys.rsa("r")
        #expect(try HTTPSigningKey(pem: try keys.read("r.pkcs1.pem")).algorithm == .rsaPSSSHA512)
        #expect(try HTTPSigningKey(pem: try keys.read("r.pem"), rsaPKCS1v15: true).algorithm == .rsaV15SHA256)
        #expect { try HTTPSigningKey(pem: try keys.read("r.pub")) } throws: { ($0 as? KeyImportError)?.code.rawValue == "malformed_key" }
    }

    /// Encrypted PKCS#8 we write opens in openssl with the passphrase (and not without it); every JWK
    /// we hand out loads in jwcrypto as the private half of the same key.
    @Test(arguments: [KeyAlgorithm.rsa2048, .p256, .p384, .ed25519])
    func encryptedPEMAndJWKOpenInForeignTools(algorithm: KeyAlgorithm) throws {
        let keys = try KeyFixtures()
        let pair = try GeneratedKeyPair.generate(algorithm)
        try keys.write("pub.pem", pair.publicKey.spkiPEM)
        let encrypted = try EncryptedPKCS8.encrypt(pem: pair.privateKeyPEM, passphrase: Array("correct horse battery".utf8), rounds: 2048)
        #expect(encrypted.hasPrefix("-----BEGIN ENCRYPTED PRIVATE KEY-----"))
        try keys.write("enc.pem", encrypted)
        let opened = try keys.openssl(["pkey", "-in", keys.path("enc.pem"), "-passin", "pass:correct horse battery", "-pubout"])
        #expect(opened == pair.publicKey.spkiPEM.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(throws: Shell.Failure.self) { try keys.openssl(["pkey", "-in", keys.path("enc.pem"), "-passin", "pass:wrong horse", "-pubout"]) }
        // And we read it back (every key type), refusing a wrong passphrase with its code.
        let reread = try HTTPSigningKey(pem: encrypted, passphrase: Array("correct horse battery".utf8))
        #expect(reread.algorithm == pair.signingKey.algorithm)
        #expect { try HTTPSigningKey(pem: encrypted, passphrase: Array("wrong".utf8)) } throws: {
            ($0 as? KeyImportError)?.code.rawValue == "wrong_passphrase"
        }

        let jwk = try PrivateJWK.json(pair.signingKey, keyID: "sgk_test")
        try Shell.run("/usr/bin/env", ["python3", Peers.jwk, "matches", jwk, keys.path("pub.pem")])
        let other = try GeneratedKeyPair.generate(algorithm)
        try keys.write("other.pem", other.publicKey.spkiPEM)
        #expect(throws: Shell.Failure.self) { try Shell.run("/usr/bin/env", ["python3", Peers.jwk, "matches", jwk, keys.path("other.pem")]) }
    }

    /// openssl's own encrypted EC key (PBES2, SHA-256 or the older SHA-1 PRF) opens with the passphrase.
    @Test(arguments: ["hmacWithSHA256", "hmacWithSHA1"])
    func readsOpenSSLEncryptedECKeys(prf: String) throws {
        let keys = try KeyFixtures()
        try keys.openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", keys.path("ec.pem")])
        try keys.openssl([
            "pkcs8", "-topk8", "-in", keys.path("ec.pem"), "-v2", "aes-128-cbc", "-v2prf", prf, "-passout", "pass:s3cret-phrase", "-out",
            keys.path("enc.pem"),
        ])
        #expect(try HTTPSigningKey(pem: try keys.read("enc.pem"), passphrase: Array("s3cret-phrase".utf8)).algorithm == .ecdsaP256SHA256)
        #expect { try HTTPSigningKey(pem: try keys.read("enc.pem")) } throws: { ($0 as? KeyImportError)?.code.rawValue == "wrong_passphrase" }
    }
}
