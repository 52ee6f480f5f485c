import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KeywardCore
import KeywardCrypto
import KeywardServer
import KeywardTestSupport
import SQLKit
import Testing
import X509

@Suite(.closesStores) struct SignedRequestTests {
    /// Signs a request the way a merchant's client does (RFC 9421, over the URL the router test client uses).
    static func signedHeaders(
        method: String,
        path: String,
        query: String? = nil,
        body: String = "",
        key: HTTPSigningKey,
        keyID: String,
        nonce: String = UUID().uuidString,
        created: Int = Int(Date().timeIntervalSince1970)
    ) throws -> HTTPFields {
        var fields: [(name: String, value: String)] = []
        var components = ["@method", "@target-uri"]
        if !body.isEmpty {
            fields = [("Content-Digest", ContentDigest.make(for: Array(body.utf8))), ("Content-Type", "application/json")]
            components.append("content-digest")
        }
        let view = HTTPRequestView(method: method, scheme: "https", authority: "localhost", path: path, query: query, fields: fields)
        let input = SignatureInput.make(components: components, created: created, nonce: nonce, keyID: keyID, algorithm: key.algorithm)
        let signature = try key.sign(try HTTPMessageSignatures.signatureBase(for: view, input: input))
        var headers = HTTPFields()
        for field in fields { headers[HTTPField.Name(field.name)!] = field.value }
        headers[HTTPField.Name("Signature-Input")!] = input.headerValue
        headers[HTTPField.Name("Signature")!] = "sig1=:\(Data(signature).base64EncodedString()):"
        return headers
    }

    static func pem(_ key: Curve25519.Signing.PrivateKey) -> String { VerificationKey.ed25519(key.publicKey).spkiPEM }

    @Test func registeredKeysAuthenticateSignedRequestsOnce() async throws {
        let (app, tenant) = try await Harness.appWithTenant()
        let privateKey = Curve25519.Signing.PrivateKey()
        let signer = HTTPSigningKey.ed25519(privateKey)
        _ = try await app.test(.router) { client in
            let registered = try await client.call(
                .post,
                "/v1/manage/signing-keys",
                key: tenant.testKey.secret,
                json: try Self.jsonBody(["name": "backend", "public_key": Self.pem(privateKey)])
            )
            #expect(registered.status == .created, "\(registered.text)")
            let keyID = try #require(registered.json["id"] as? String)
            #expect(registered.json["algorithm"] as? String == "Ed25519")

            let headers = try Self.signedHeaders(method: "GET", path: "/v1/auth/test", key: signer, keyID: keyID)
            try await client.execute(uri: "/v1/auth/test", method: .get, headers: headers) { response in
                #expect(response.status == .ok, "\(String(buffer: response.body))")
                #expect(response.json["key_id"] as? String == keyID)
                #expect(response.json["merchant_id"] as? String == tenant.merchant.id)
                #expect(response.json["mode"] as? String == "test")
            }
            // The same signed request again is a replay.
            try await client.execute(uri: "/v1/auth/test", method: .get, headers: headers) { $0.expectProblem(.unauthorized, "replayed_request") }

            // A body is covered by its digest: changing it after signing is refused.
            let body = #"{"amount":"5.00"}"#
            let post = try Self.signedHeaders(method: "POST", path: "/v1/payments", body: body, key: signer, keyID: keyID)
            try await client.execute(uri: "/v1/payments", method: .post, headers: post, body: ByteBuffer(string: body)) { response in
                response.expectProblem(.notFound, "not_found")  // authenticated; no upstream configured
            }
            let tampered = try Self.signedHeaders(method: "POST", path: "/v1/payments", body: body, key: signer, keyID: keyID)
            try await client.execute(uri: "/v1/payments", method: .post, headers: tampered, body: ByteBuffer(string: #"{"amount":"500.00"}"#)) {
                $0.expectProblem(.unauthorized, "digest_mismatch")
            }
            // Signed for another path, stale, or by another key.
            let elsewhere = try Self.signedHeaders(method: "GET", path: "/v1/other", key: signer, keyID: keyID)
            try await client.execute(uri: "/v1/auth/test", method: .get, headers: elsewhere) { $0.expectProblem(.unauthorized, "signature_invalid") }
            let stale = try Self.signedHeaders(
                method: "GET",
                path: "/v1/auth/test",
                key: signer,
                keyID: keyID,
                created: Int(Date().timeIntervalSince1970) - 600
            )
            try await client.execute(uri: "/v1/auth/test", method: .get, headers: stale) { $0.expectProblem(.unauthorized, "signature_expired") }
            let impostor = try Self.signedHeaders(method: "GET", path: "/v1/auth/test", key: .ed25519(Curve25519.Signing.PrivateKey()), keyID: keyID)
            try await client.execute(uri: "/v1/auth/test", method: .get, headers: impostor) { $0.expectProblem(.unauthorized, "signature_invalid") }
            let unknown = try Self.signedHeaders(method: "GET", path: "/v1/auth/test", key: signer, keyID: "sgk_0000000000000000000000")
            try await client.execute(uri: "/v1/auth/test", method: .get, headers: unknown) { $0.expectProblem(.unauthorized, "unknown_key_index") }

            // A signing key authenticates API calls, never the management API.
            let manage = try Self.signedHeaders(method: "GET", path: "/v1/manage/keys", key: signer, keyID: keyID)
            try await client.execute(uri: "/v1/manage/keys", method: .get, headers: manage) {
                $0.expectProblem(.forbidden, "insufficient_permissions")
            }

            // Revoked: refused at once.
            try await client.call(.post, "/v1/manage/signing-keys/\(keyID)/revoke", key: tenant.testKey.secret) {
                #expect($0.json["status"] as? String == "revoked")
            }
            let after = try Self.signedHeaders(method: "GET", path: "/v1/auth/test", key: signer, keyID: keyID)
            try await client.execute(uri: "/v1/auth/test", method: .get, headers: after) { $0.expectProblem(.unauthorized, "unknown_key_index") }
        }
    }

    /// The on-site generator: the private key is in the answer once, Keyward keeps the public part.
    @Test func generatedKeysSignRequestsAndAreShownOnce() async throws {
        let (app, tenant) = try await Harness.appWithTenant()
        _ = try await app.test(.router) { client in
            let generated = try await client.call(
                .post,
                "/v1/manage/signing-keys/generate",
                key: tenant.liveKey.secret,
                json: #"{"algorithm":"ec-p256","name":"pos"}"#
            )
            #expect(generated.status == .created, "\(generated.text)")
            let keyID = try #require(generated.json["id"] as? String)
            let privatePEM = try #require(generated.json["private_key"] as? String)
            #expect(generated.json["algorithm"] as? String == "EC P-256")
            let signer = try HTTPSigningKey(pem: privatePEM)
            let headers = try Self.signedHeaders(method: "GET", path: "/v1/auth/test", key: signer, keyID: keyID)
            try await client.execute(uri: "/v1/auth/test", method: .get, headers: headers) { response in
                #expect(response.status == .ok)
                #expect(response.json["mode"] as? String == "live")
            }
            let listing = try await client.call(.get, "/v1/manage/signing-keys", key: tenant.liveKey.secret)
            #expect(!listing.text.contains("PRIVATE KEY"))
            try await client.call(.post, "/v1/manage/signing-keys/generate", key: tenant.liveKey.secret, json: #"{"algorithm":"dsa"}"#) {
                $0.expectProblem(.badRequest, "unsupported_algorithm")
            }
        }
    }

    @Test func registrationRefusesWhatCannotBeTrusted() async throws {
        // Fixtures first: an application that is built but never run keeps its database open.
        let keys = try KeyFixtures()
        try keys.openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024", "-out", keys.path("small.pem")])
        try keys.openssl(["pkey", "-in", keys.path("small.pem"), "-pubout", "-out", keys.path("small.pub")])
        let small = try keys.read("small.pub")
        let expired = try LocalCertificateAuthority.create()
            .issueServerCertificate(hostnames: ["old.example"], days: 1, now: Date().addingTimeInterval(-10 * 86400))
        let expiredPEM = try expired.certificate.serializeAsPEM().pemString
        let (app, tenant) = try await Harness.appWithTenant()
        _ = try await app.test(.router) { client in
            // 1024-bit RSA: the myPOS sandbox key, accepted in test mode only.
            try await client.call(.post, "/v1/manage/signing-keys", key: tenant.testKey.secret, json: try Self.jsonBody(["public_key": small])) {
                #expect($0.json["algorithm"] as? String == "RSA 1024")
            }
            try await client.call(.post, "/v1/manage/signing-keys", key: tenant.liveKey.secret, json: try Self.jsonBody(["public_key": small])) {
                $0.expectProblem(.badRequest, "rsa_key_too_small")
            }
            try await client.call(.post, "/v1/manage/signing-keys", key: tenant.testKey.secret, json: try Self.jsonBody(["public_key": expiredPEM])) {
                $0.expectProblem(.badRequest, "certificate_expired")
            }
            try await client.call(
                .post,
                "/v1/manage/signing-keys",
                key: tenant.testKey.secret,
                json: try Self.jsonBody(["public_key": try keys.read("small.pem")])
            ) {
                $0.expectProblem(.badRequest, "private_key_not_accepted")
            }
            try await client.call(.post, "/v1/manage/signing-keys", key: tenant.testKey.secret, json: try Self.jsonBody(["public_key": "garbage"])) {
                $0.expectProblem(.badRequest, "not_pem")
            }
            try await client.call(.post, "/v1/manage/signing-keys", key: tenant.testKey.secret, json: "{}") {
                $0.expectProblem(.badRequest, "missing_field")
            }
            // Test and live keys are separate worlds.
            let live = try await client.call(.get, "/v1/manage/signing-keys", key: tenant.liveKey.secret)
            #expect((live.json["data"] as? [Any])?.isEmpty == true)
        }
    }

    /// Nonces are single-use on one statement; expired ones are pruned in the background, never the live ones.
    @Test func noncesAreSingleUseAndPrunedOnceExpired() async throws {
        let clock = TestClock()
        let services = try await Harness.services(Harness.settings(), clock: clock.clock)
        let keyID = "sgk_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(22)
        let soon = clock.clock.now().addingTimeInterval(300)
        #expect(try await services.signingKeys.useNonce(keyID: keyID, nonce: "a", expires: soon))
        #expect(try await services.signingKeys.useNonce(keyID: keyID, nonce: "a", expires: soon) == false)
        #expect(try await services.signingKeys.useNonce(keyID: keyID, nonce: "b", expires: soon.addingTimeInterval(600)))
        // Concurrent uses are batched into shared statements: each nonce is new exactly once.
        let outcomes = try await withThrowingTaskGroup(of: (String, Bool).self) { group in
            for attempt in 0..<120 {
                let nonce = "c\(attempt % 40)"
                group.addTask { (nonce, try await services.signingKeys.useNonce(keyID: keyID, nonce: nonce, expires: soon)) }
            }
            return try await group.reduce(into: [String: Int]()) { counts, outcome in counts[outcome.0, default: 0] += outcome.1 ? 1 : 0 }
        }
        #expect(outcomes.count == 40 && outcomes.values.allSatisfy { $0 == 1 }, "\(outcomes)")
        let pruner = NoncePruner(store: services.store, clock: clock.clock, logger: Harness.logger)
        try await pruner.prune()
        #expect(try await services.signingKeys.useNonce(keyID: keyID, nonce: "a", expires: soon) == false, "live nonces survive pruning")
        clock.advance(400)
        try await pruner.prune()
        struct Row: Decodable { let nonce: String }
        let left = try await services.store.sql.raw("SELECT nonce FROM signature_nonces WHERE key_id = \(bind: keyID)").all(decoding: Row.self)
        #expect(left.map(\.nonce) == ["b"])  // "a" and the "c…" nonces expired with `soon`
        await services.store.shutdown()
    }

    static func jsonBody(_ object: [String: String]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
    }
}
