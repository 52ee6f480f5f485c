import Crypto
import Foundation
import KeywardCrypto
import KeywardTestSupport
import Testing

@Suite struct HTTPMessageSignatureTests {
    /// RFC 9421 Appendix B.2.6: Ed25519 is deterministic, so the signature must be the RFC's, byte for byte.
    @Test func rfc9421AppendixB26KnownAnswer() throws {
        let seed = try #require(Base64URL.decode("n4Ni-HpISpVObnQMW0wOhCKROaIKqKtW_2ZYb2p9KcU"))
        let key = try Curve25519.Signing.PrivateKey(rawRepresentation: seed)
        #expect(Base64URL.encode(key.publicKey.rawRepresentation) == "JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs")
        let request = HTTPRequestView(
            method: "POST",
            scheme: "http",
            authority: "example.com",
            path: "/foo",
            query: "param=Value&Pet=dog",
            fields: [
                ("Host", "example.com"), ("Date", "Tue, 20 Apr 2021 02:07:55 GMT"), ("Content-Type", "application/json"),
                ("Content-Digest", "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:"),
                ("Content-Length", "18"),
            ]
        )
        let input = try #require(
            try HTTPMessageSignatures.parseInputs(
                #"sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519""#
            ).first
        )
        let base = try HTTPMessageSignatures.signatureBase(for: request, input: input)
        #expect(
            String(decoding: base, as: UTF8.self) == """
                "date": Tue, 20 Apr 2021 02:07:55 GMT
                "@method": POST
                "@path": /foo
                "@authority": example.com
                "content-type": application/json
                "content-length": 18
                "@signature-params": ("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"
                """
        )
        let signature = try HTTPSigningKey.ed25519(key).sign(base)
        #expect(Data(signature).base64EncodedString() == "wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==")
        let signatures = try HTTPMessageSignatures.parseSignatures(
            "sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:"
        )
        let publicKey = VerificationKey.ed25519(key.publicKey)
        #expect(HTTPMessageSignatures.verify(try #require(signatures["sig-b26"]), base: base, key: publicKey, algorithm: .ed25519))
        // The RFC's Content-Digest of {"hello": "world"}.
        #expect(
            try ContentDigest.matches(
                "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:",
                body: Array(#"{"hello": "world"}"#.utf8)
            )
        )
        // Any change to a covered component breaks it.
        var changed = request
        changed.path = "/foo2"
        #expect(
            !HTTPMessageSignatures.verify(
                signature,
                base: try HTTPMessageSignatures.signatureBase(for: changed, input: input),
                key: publicKey,
                algorithm: .ed25519
            )
        )
        #expect(!HTTPMessageSignatures.verify(signature, base: base, key: publicKey, algorithm: .ecdsaP256SHA256), "the algorithm must fit the key")
    }

    static let algorithms: [(HTTPSignatureAlgorithm, [String])] = [
        (.ed25519, ["-algorithm", "ED25519"]),
        (.ecdsaP256SHA256, ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]),
        (.ecdsaP384SHA384, ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"]),
        (.rsaPSSSHA512, ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]),
        (.rsaV15SHA256, ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]),
    ]

    /// Requests signed by the Python `http-message-signatures` package verify here, and ours there.
    @Test(arguments: algorithms.map(\.0))
    func interoperatesWithPython(algorithm: HTTPSignatureAlgorithm) throws {
        let keys = try KeyFixtures()
        let options = try #require(Self.algorithms.first { $0.0 == algorithm }?.1)
        try keys.openssl(["genpkey"] + options + ["-out", keys.path("k.pem")])
        try keys.openssl(["pkey", "-in", keys.path("k.pem"), "-pubout", "-out", keys.path("k.pub")])
        let publicKey = try #require(try PublicKeyImport.parse(pem: try keys.read("k.pub")).first?.key)
        let body = #"{"amount":"10.00","currency":"EUR"}"#
        let url = "https://api.example.com/v1/payments?capture=true"

        // Python signs; we verify.
        let output = try Shell.run("/usr/bin/env", ["python3", Self.peer, "sign", algorithm.rawValue, keys.path("k.pem"), "key_1", url, body])
        let headers = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: String])
        let request = HTTPRequestView(
            method: "POST",
            scheme: "https",
            authority: "api.example.com",
            path: "/v1/payments",
            query: "capture=true",
            fields: headers.map { ($0.key, $0.value) }
        )
        let inputHeader = try #require(headers["Signature-Input"])
        let signatureHeader = try #require(headers["Signature"])
        let digestHeader = try #require(headers["Content-Digest"])
        let input = try #require(try HTTPMessageSignatures.parseInputs(inputHeader).first)
        #expect(input.keyID == "key_1")
        #expect(input.nonce == "n-0123456789")
        #expect(input.algorithm == algorithm.rawValue)
        #expect(input.components.contains("content-digest"))
        let signature = try #require(try HTTPMessageSignatures.parseSignatures(signatureHeader)[input.label])
        let base = try HTTPMessageSignatures.signatureBase(for: request, input: input)
        #expect(HTTPMessageSignatures.verify(signature, base: base, key: publicKey, algorithm: algorithm))
        #expect(try ContentDigest.matches(digestHeader, body: Array(body.utf8)))
        #expect(try !ContentDigest.matches(digestHeader, body: Array((body + " ").utf8)))

        // We sign; Python verifies.
        let signingKey = try Self.signingKey(algorithm: algorithm, pem: try keys.read("k.pem"))
        let ourInput = SignatureInput.make(
            components: ["@method", "@target-uri", "@authority", "content-digest"],
            created: Int(Date().timeIntervalSince1970),
            nonce: "abc",
            keyID: "key_1",
            algorithm: algorithm
        )
        var ourRequest = request
        ourRequest.fields = [("Content-Digest", ContentDigest.make(for: Array(body.utf8))), ("Content-Type", "application/json")]
        let ourSignature = try signingKey.sign(try HTTPMessageSignatures.signatureBase(for: ourRequest, input: ourInput))
        let ourHeaders = [
            "Content-Digest": ContentDigest.make(for: Array(body.utf8)), "Content-Type": "application/json",
            "Signature-Input": ourInput.headerValue, "Signature": "\(ourInput.label)=:\(Data(ourSignature).base64EncodedString()):",
        ]
        let json = String(decoding: try JSONSerialization.data(withJSONObject: ourHeaders), as: UTF8.self)
        _ = try Shell.run("/usr/bin/env", ["python3", Self.peer, "verify", algorithm.rawValue, keys.path("k.pub"), url, json, body])
        #expect(throws: (any Error).self) {
            try Shell.run("/usr/bin/env", ["python3", Self.peer, "verify", algorithm.rawValue, keys.path("k.pub"), url + "&x=1", json, body])
        }
    }

    @Test func malformedHeadersAreNamed() {
        let cases: [(String, String)] = [
            ("sig1=:abc:", "malformed_signature_input"), ("not a dictionary ((", "malformed_signature_input"),
            (#"sig1=("@method" "@method");created=1"#, "malformed_signature_input"),
            (#"sig1=("content-type";sf);created=1"#, "unsupported_component"),
            (#"sig1=("@method");created="yesterday""#, "malformed_signature_input"),
        ]
        for (header, code) in cases {
            #expect { try HTTPMessageSignatures.parseInputs(header) } throws: { ($0 as? HTTPSignatureError)?.code.rawValue == code }
        }
        #expect(throws: HTTPSignatureError.self) { try HTTPMessageSignatures.parseSignatures("sig1=notbytes") }
        #expect(throws: HTTPSignatureError.self) { try ContentDigest.matches("md5=:AAAA:", body: []) }
        let request = HTTPRequestView(method: "GET", scheme: "https", authority: "a.example", path: "/", query: nil, fields: [])
        let input = SignatureInput.make(components: ["x-missing"], created: 1, keyID: "k")
        #expect { try HTTPMessageSignatures.signatureBase(for: request, input: input) } throws: {
            ($0 as? HTTPSignatureError)?.code.rawValue == "signature_invalid"
        }
    }

    static var peer: String {
        Peers.rfc9421
    }

    static func signingKey(algorithm: HTTPSignatureAlgorithm, pem: String) throws -> HTTPSigningKey {
        switch algorithm {
        case .ed25519:
            // PKCS#8 Ed25519: the 32-byte seed is the last 32 bytes of the DER.
            let der = try #require(Data(base64Encoded: pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()))
            return .ed25519(try Curve25519.Signing.PrivateKey(rawRepresentation: der.suffix(32)))
        case .ecdsaP256SHA256: return .p256(try P256.Signing.PrivateKey(pemRepresentation: pem))
        case .ecdsaP384SHA384: return .p384(try P384.Signing.PrivateKey(pemRepresentation: pem))
        case .rsaPSSSHA512: return .rsa(try RSASigningKey(pem: pem), pss: true)
        case .rsaV15SHA256: return .rsa(try RSASigningKey(pem: pem), pss: false)
        }
    }
}
