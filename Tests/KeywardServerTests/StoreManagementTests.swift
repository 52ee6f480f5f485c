import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KeywardCore
import KeywardCrypto
import KeywardDialects
import KeywardServer
import KeywardTestSupport
import Testing

/// Registering stores and store keys: what is accepted, and a clear reason for everything else.
@Suite(.closesStores) struct StoreManagementTests {
    static let json = ProviderGatewayTests.json
    static let form = ProviderGatewayTests.form

    @Test func keyUploadsAreCheckedAndExplained() async throws {
        let keys = try KeyFixtures()
        try keys.rsa("small", bits: 1024)
        try keys.rsa("a")
        try keys.rsa("b")
        try keys.openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", keys.path("ec.pem")])
        try keys.openssl(["req", "-x509", "-key", keys.path("ec.pem"), "-subj", "/CN=ec", "-days", "30", "-out", keys.path("ec.crt")])
        try keys.openssl(["crl2pkcs7", "-nocrl", "-certfile", keys.path("a.crt"), "-certfile", keys.path("b.crt"), "-out", keys.path("bundle.p7b")])
        let clock = TestClock()
        let settings = Harness.settings()
        let services = try await Harness.services(settings)
        let tenant = try await Harness.tenant(services)
        await services.store.shutdown()
        let app = try await Harness.app(settings, clock: clock.clock)
        _ = try await app.test(.router) { client in
            let live = try await client.call(.post, "/v1/manage/stores", key: tenant.liveKey.secret, json: try Self.json(["dialect": "mypos"]))
            let liveID = try #require(live.json["id"] as? String)
            #expect((live.json["sid"] as? String)?.count == 15)
            func upload(_ storeID: String, key: String, _ body: [String: Any]) async throws -> TestResponse {
                try await client.call(.post, "/v1/manage/stores/\(storeID)/keys", key: key, json: try Self.json(body))
            }
            let liveKey = tenant.liveKey.secret
            try await upload(liveID, key: liveKey, ["public_key": try keys.read("small.crt")]).expectProblem(.badRequest, "rsa_key_too_small")
            try await upload(liveID, key: liveKey, ["public_key": try keys.read("ec.crt")]).expectProblem(.badRequest, "unsupported_algorithm")
            try await upload(liveID, key: liveKey, ["public_key": try keys.read("a.pem")]).expectProblem(.badRequest, "private_key_not_accepted")
            try await upload(liveID, key: liveKey, ["public_key": "hello"]).expectProblem(.badRequest, "not_pem")
            let truncated = String(try keys.read("a.crt").dropLast(40))
            try await upload(liveID, key: liveKey, ["public_key": truncated]).expectProblem(.badRequest, "not_pem")
            try await upload(liveID, key: liveKey, ["public_key": try keys.read("a.crt"), "legacy_sha1": true]).expectProblem(
                .badRequest,
                "invalid_field"
            )
            try await upload(liveID, key: liveKey, ["public_key": try keys.read("a.crt"), "key_index": 0]).expectProblem(
                .badRequest,
                "invalid_key_index"
            )

            // A PKCS#7 bundle of two certificates fills two indexes; a taken index is a conflict.
            let bundle = try await upload(liveID, key: liveKey, ["public_key": try keys.read("bundle.p7b")])
            #expect(bundle.status == .created, "\(bundle.text)")
            #expect((bundle.json["data"] as? [[String: Any]])?.compactMap { $0["key_index"] as? Int } == [1, 2])
            try await upload(liveID, key: liveKey, ["public_key": try keys.read("a.crt"), "key_index": 2]).expectProblem(.conflict, "key_index_taken")
            let chosen = try await upload(liveID, key: liveKey, ["public_key": try keys.read("b.crt"), "key_index": 40])
            #expect((chosen.json["data"] as? [[String: Any]])?.first?["key_index"] as? Int == 40)

            // The public myPOS sandbox key is 1024-bit: accepted in test mode only.
            let test = try await client.call(.post, "/v1/manage/stores", key: tenant.testKey.secret, json: try Self.json(["dialect": "mypos"]))
            let testID = try #require(test.json["id"] as? String)
            #expect(try await upload(testID, key: tenant.testKey.secret, ["public_key": try keys.read("small.crt")]).status == .created)

            // Stores are per mode and per merchant.
            try await client.call(.get, "/v1/manage/stores/\(liveID)", key: tenant.testKey.secret) { $0.expectProblem(.notFound, "resource_missing") }
            try await client.call(.get, "/v1/manage/stores/\(liveID)", key: liveKey) {
                #expect(($0.json["keys"] as? [[String: Any]])?.count == 3)
            }
            try await client.call(.get, "/v1/manage/stores", key: liveKey) { #expect(($0.json["data"] as? [Any])?.count == 1) }

            // Identifiers: one store per SID; fields of the other dialect refused.
            let sid = try #require(live.json["sid"] as? String)
            try await client.call(.post, "/v1/manage/stores", key: tenant.testKey.secret, json: try Self.json(["dialect": "mypos", "sid": sid])) {
                $0.expectProblem(.conflict, "store_id_taken")
            }
            try await client.call(.post, "/v1/manage/stores", key: liveKey, json: try Self.json(["dialect": "mypos", "sid": "bad sid!"])) {
                $0.expectProblem(.badRequest, "invalid_sid")
            }
            try await client.call(.post, "/v1/manage/stores", key: liveKey, json: try Self.json(["dialect": "mypos", "account": UUID().uuidString])) {
                $0.expectProblem(.badRequest, "unknown_field")
            }
            try await client.call(.post, "/v1/manage/stores", key: liveKey, json: try Self.json(["dialect": "alikassa", "account": "not-a-uuid"])) {
                $0.expectProblem(.badRequest, "invalid_account")
            }
            try await client.call(.post, "/v1/manage/stores", key: liveKey, json: try Self.json(["dialect": "paypal"])) {
                $0.expectProblem(.badRequest, "invalid_dialect")
            }

            // Certificates expire: an upload of an expired one is refused, and a registered one stops verifying.
            clock.advance(40 * 86400)
            try await upload(liveID, key: liveKey, ["public_key": try keys.read("a.crt"), "key_index": 50]).expectProblem(
                .badRequest,
                "certificate_expired"
            )
            try await client.call(.get, "/v1/manage/stores/\(liveID)", key: liveKey) {
                #expect(($0.json["keys"] as? [[String: Any]])?.first?["status"] as? String == "expired")
            }
        }
    }

    @Test func generatedStoreKeysSignRequestsTheGatewayAccepts() async throws {
        let keys = try KeyFixtures()
        let (app, tenant) = try await Harness.appWithTenant()
        _ = try await app.test(.router) { client in
            let store = try await client.call(.post, "/v1/manage/stores", key: tenant.testKey.secret, json: try Self.json(["dialect": "mypos"]))
            let storeID = try #require(store.json["id"] as? String)
            let sid = try #require(store.json["sid"] as? String)
            let wallet = try #require(store.json["wallet_number"] as? String)
            let generated = try await client.call(.post, "/v1/manage/stores/\(storeID)/keys/generate", key: tenant.testKey.secret, json: "{}")
            #expect(generated.status == .created, "\(generated.text)")
            let key = try #require((generated.json["data"] as? [[String: Any]])?.first)
            let pkcs8 = try #require(key["private_key"] as? String)
            #expect(pkcs8.hasPrefix("-----BEGIN PRIVATE KEY-----"))
            #expect((key["private_key_pkcs1"] as? String)?.hasPrefix("-----BEGIN RSA PRIVATE KEY-----") == true)
            // Shown once: listings never carry it.
            try await client.call(.get, "/v1/manage/stores/\(storeID)", key: tenant.testKey.secret) { #expect(!$0.text.contains("PRIVATE KEY")) }
            try keys.write("generated.pem", pkcs8)
            let body = try keys.python(["mypos-request", keys.path("generated.pem"), sid, wallet, "1"])
            try await client.execute(uri: "/vmp/checkout-test", method: .post, headers: Self.form, body: ByteBuffer(string: body)) {
                #expect($0.status == .ok, "\(String(buffer: $0.body))")
            }
            try await client.call(.post, "/v1/manage/stores/\(storeID)/keys/generate", key: tenant.testKey.secret, json: #"{"bits":1024}"#) {
                $0.expectProblem(.badRequest, "unsupported_algorithm")
            }
        }
    }

    /// Generated private keys: plain (PKCS#8, PKCS#1, JWK) or passphrase-encrypted only; kept sealed for
    /// export only when asked.
    @Test func generatedPrivateKeysAreShownOnceUnlessKept() async throws {
        let (app, tenant) = try await Harness.appWithTenant()
        let secret = tenant.testKey.secret
        _ = try await app.test(.router) { client in
            let plain = try await client.call(.post, "/v1/manage/signing-keys/generate", key: secret, json: #"{"algorithm":"ec-p256"}"#)
            #expect(plain.status == .created)
            #expect((plain.json["private_jwk"] as? [String: Any])?["crv"] as? String == "P-256")
            #expect(plain.json["private_key_kept"] as? Bool == false)
            let plainID = try #require(plain.json["id"] as? String)
            try await client.call(.post, "/v1/manage/signing-keys/\(plainID)/private-key", key: secret, json: "{}") {
                $0.expectProblem(.conflict, "private_key_not_kept")
            }

            let encrypted = try await client.call(
                .post,
                "/v1/manage/signing-keys/generate",
                key: secret,
                json: #"{"algorithm":"rsa-2048","passphrase":"a long passphrase","keep_private_key":true}"#
            )
            #expect((encrypted.json["private_key"] as? String)?.hasPrefix("-----BEGIN ENCRYPTED PRIVATE KEY-----") == true)
            #expect(encrypted.json["private_key_pkcs1"] == nil && encrypted.json["private_jwk"] == nil, "no plaintext form next to the encrypted one")
            #expect(encrypted.json["private_key_kept"] as? Bool == true)
            let keptID = try #require(encrypted.json["id"] as? String)
            let exported = try await client.call(.post, "/v1/manage/signing-keys/\(keptID)/private-key", key: secret, json: "{}")
            #expect(exported.status == .ok)
            let exportedPEM = try #require(exported.json["private_key"] as? String)
            let reread = try HTTPSigningKey(pem: exportedPEM)
            let original = try HTTPSigningKey(
                pem: try #require(encrypted.json["private_key"] as? String),
                passphrase: Array("a long passphrase".utf8)
            )
            let base = Array("x".utf8)
            let publicPEM = try #require(encrypted.json["public_key"] as? String)
            let publicKey = try #require(try PublicKeyImport.parse(pem: publicPEM).first?.key)
            #expect(HTTPMessageSignatures.verify(try reread.sign(base), base: base, key: publicKey, algorithm: reread.algorithm))
            #expect(reread.algorithm == original.algorithm)
            try await client.call(.post, "/v1/manage/signing-keys/generate", key: secret, json: #"{"algorithm":"ed25519","passphrase":"short"}"#) {
                $0.expectProblem(.badRequest, "invalid_passphrase")
            }
            // The kept key is not handed out once revoked, nor through a live key.
            try await client.call(.post, "/v1/manage/signing-keys/\(keptID)/private-key", key: tenant.liveKey.secret, json: "{}") {
                $0.expectProblem(.notFound, "resource_missing")
            }
            try await client.call(.post, "/v1/manage/signing-keys/\(keptID)/revoke", key: secret)
            try await client.call(.post, "/v1/manage/signing-keys/\(keptID)/private-key", key: secret, json: "{}") {
                $0.expectProblem(.conflict, "key_revoked")
            }

            // Store keys: the same options.
            let store = try await client.call(.post, "/v1/manage/stores", key: secret, json: #"{"dialect":"alikassa"}"#)
            let storeID = try #require(store.json["id"] as? String)
            let generated = try await client.call(
                .post,
                "/v1/manage/stores/\(storeID)/keys/generate",
                key: secret,
                json: #"{"keep_private_key":true}"#
            )
            let storeKey = try #require((generated.json["data"] as? [[String: Any]])?.first)
            #expect((storeKey["private_jwk"] as? [String: Any])?["alg"] as? String == "RS256")
            let storeExport = try await client.call(
                .post,
                "/v1/manage/stores/\(storeID)/keys/1/private-key",
                key: secret,
                json: #"{"passphrase":"another long one"}"#
            )
            #expect((storeExport.json["private_key"] as? String)?.hasPrefix("-----BEGIN ENCRYPTED PRIVATE KEY-----") == true, "\(storeExport.text)")
        }
    }
}
