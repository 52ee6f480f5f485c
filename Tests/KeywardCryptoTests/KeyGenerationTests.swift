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
        #expect { try HTTPSigningKey(pem: try keys.read("r.pub")) } throws: { ($0 as? KeyImportError)?.code == "malformed_key" }
    }
}
