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

/// myPOS IPC and AliKassa requests built by a foreign peer (Python `cryptography`, the way the providers'
/// SDKs build them) against stores and key indexes registered through the management API.
@Suite(.closesStores) struct ProviderGatewayTests {
    static func json(_ object: [String: Any]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
    }

    static let form: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]

    /// A numeric SID no other test (or CI run on the shared PostgreSQL) uses.
    static func freshSID() -> String { String(UInt64.random(in: 100_000_000_000_000...999_999_999_999_999)) }

    @Test func myPOSFormsSignedLikeTheSDKAreVerifiedAndAnsweredWithThePlatformSignature() async throws {
        let keys = try KeyFixtures()
        try keys.rsa("merchant")
        let (app, tenant) = try await Harness.appWithTenant()
        let sid = Self.freshSID()
        _ = try await app.test(.router) { client in
            let created = try await client.call(
                .post,
                "/v1/manage/stores",
                key: tenant.testKey.secret,
                json: try Self.json(["name": "Web shop", "dialect": "mypos", "sid": sid, "wallet_number": "61938166610"])
            )
            #expect(created.status == .created, "\(created.text)")
            let storeID = try #require(created.json["id"] as? String)
            #expect(created.json["sid"] as? String == sid)

            let added = try await client.call(
                .post,
                "/v1/manage/stores/\(storeID)/keys",
                key: tenant.testKey.secret,
                json: try Self.json(["public_key": try keys.read("merchant.crt")])
            )
            #expect(added.status == .created, "\(added.text)")
            let key = try #require((added.json["data"] as? [[String: Any]])?.first)
            #expect(key["key_index"] as? Int == 1)
            #expect(key["algorithm"] as? String == "RSA 2048")

            // The platform certificate downloads as PEM, and is the one the store key lists.
            let download = try await client.call(.get, "/v1/manage/stores/\(storeID)/keys/1/platform-certificate", key: tenant.testKey.secret)
            #expect(download.status == .ok)
            #expect(download.headers[.contentType] == "application/x-pem-file")
            #expect(download.text == key["platform_certificate"] as? String)
            try keys.write("platform.crt", download.text)
            try keys.openssl(["x509", "-in", keys.path("platform.crt"), "-noout", "-checkend", "86400"])

            // The SDK's request, exactly as Python builds it: accepted, answered with our signature.
            let body = try keys.python(["mypos-request", keys.path("merchant.pem"), sid, "61938166610", "1"])
            let answer = try await client.execute(uri: "/vmp/checkout-test", method: .post, headers: Self.form, body: ByteBuffer(string: body)) { $0 }
            #expect(answer.status == .ok, "\(answer.text)")
            #expect(answer.headers[.contentType]?.hasPrefix("application/x-www-form-urlencoded") == true)
            #expect(answer.text.contains("Status=0"))
            #expect(throws: Never.self) { try keys.python(["mypos-verify", keys.path("platform.crt"), answer.text]) }
            #expect(throws: Shell.Failure.self) { try keys.python(["mypos-verify", keys.path("merchant.crt"), answer.text]) }

            // JSON answers when OutputFormat=json, verified the PHP SDK's way.
            let jsonBody = try keys.python(["mypos-request", keys.path("merchant.pem"), sid, "61938166610", "1", "json"])
            let jsonAnswer = try await client.execute(
                uri: "/vmp/checkout-test",
                method: .post,
                headers: Self.form,
                body: ByteBuffer(string: jsonBody)
            ) { $0 }
            #expect(jsonAnswer.status == .ok, "\(jsonAnswer.text)")
            #expect(jsonAnswer.json["SID"] as? String == sid)
            #expect(throws: Never.self) { try keys.python(["mypos-verify-json", keys.path("platform.crt"), jsonAnswer.text]) }

            // /v1/auth/test takes the same form.
            let test = try await client.execute(uri: "/v1/auth/test", method: .post, headers: Self.form, body: ByteBuffer(string: body)) { $0 }
            #expect(test.status == .ok, "\(test.text)")
            #expect(test.json["scheme"] as? String == "mypos_ipc")
            #expect(test.json["merchant_id"] as? String == tenant.merchant.id)
            #expect(test.json["key_id"] as? String == key["id"] as? String)

            // Every change is refused with its own code.
            let live = try await client.execute(uri: "/vmp/checkout", method: .post, headers: Self.form, body: ByteBuffer(string: body)) { $0 }
            live.expectProblem(.unauthorized, "unknown_store")
            for (from, to, code) in [
                ("Amount=23.45", "Amount=23.46", "signature_invalid"),
                ("KeyIndex=1", "KeyIndex=2", "unknown_key_index"),
                ("SID=\(sid)", "SID=999\(sid.dropFirst(3))", "unknown_store"),
                ("WalletNumber=61938166610", "WalletNumber=11111111111", "unknown_store"),
            ] {
                let changed = body.replacingOccurrences(of: from, with: to)
                try await client.execute(uri: "/vmp/checkout-test", method: .post, headers: Self.form, body: ByteBuffer(string: changed)) {
                    $0.expectProblem(.unauthorized, code)
                }
            }
            let signatureStart = try #require(body.range(of: "&Signature="))
            let unsigned = String(body[..<signatureStart.lowerBound])
            try await client.execute(uri: "/vmp/checkout-test", method: .post, headers: Self.form, body: ByteBuffer(string: unsigned)) {
                $0.expectProblem(.unauthorized, "signature_missing")
            }
            try await client.execute(uri: "/vmp/checkout-test", method: .post, headers: Self.form, body: ByteBuffer(string: body + "&Amount=1.00")) {
                $0.expectProblem(.badRequest, "duplicate_parameter")
            }
            try await client.execute(uri: "/vmp/checkout-test", method: .post, headers: Self.form, body: ByteBuffer(string: body + "&x=%zz")) {
                $0.expectProblem(.badRequest, "malformed_form")
            }
            try await client.execute(
                uri: "/vmp/checkout-test",
                method: .post,
                headers: [.contentType: "application/json"],
                body: ByteBuffer(string: "{}")
            ) {
                $0.expectProblem(.badRequest, "unsupported_media_type")
            }

            // A revoked index stops verifying at once.
            try await client.call(.post, "/v1/manage/stores/\(storeID)/keys/1/revoke", key: tenant.testKey.secret) {
                #expect($0.json["status"] as? String == "revoked")
            }
            try await client.execute(uri: "/vmp/checkout-test", method: .post, headers: Self.form, body: ByteBuffer(string: body)) {
                $0.expectProblem(.unauthorized, "unknown_key_index")
            }
        }
    }

    /// Huge forms: over the body limit is 413, a form of thousands of tiny parameters is 400; neither is parsed into memory at large.
    @Test func hugeFormsAreRefusedEarly() async throws {
        let settings = Harness.settings { $0.maxBodyBytes = 64 * 1024 }
        let (app, _) = try await Harness.appWithTenant(settings)
        _ = try await app.test(.router) { client in
            let big = "Note=" + String(repeating: "x", count: 70 * 1024)
            try await client.execute(uri: "/vmp/checkout-test", method: .post, headers: Self.form, body: ByteBuffer(string: big)) {
                $0.expectProblem(.contentTooLarge, "body_too_large")
            }
            let many = (0..<2000).map { "p\($0)=1" }.joined(separator: "&") + "&Signature=AAAA"
            try await client.execute(uri: "/vmp/checkout-test", method: .post, headers: Self.form, body: ByteBuffer(string: many)) {
                $0.expectProblem(.badRequest, "too_many_parameters")
            }
        }
    }

    @Test func myPOSStoresCanRefuseReplays() async throws {
        let keys = try KeyFixtures()
        try keys.rsa("merchant")
        let (app, tenant) = try await Harness.appWithTenant()
        let sid = Self.freshSID()
        _ = try await app.test(.router) { client in
            let created = try await client.call(
                .post,
                "/v1/manage/stores",
                key: tenant.testKey.secret,
                json: try Self.json(["dialect": "mypos", "sid": sid, "reject_replays": true])
            )
            let storeID = try #require(created.json["id"] as? String)
            let wallet = try #require(created.json["wallet_number"] as? String)
            try await client.call(
                .post,
                "/v1/manage/stores/\(storeID)/keys",
                key: tenant.testKey.secret,
                json: try Self.json(["public_key": try keys.read("merchant.crt"), "key_index": 7])
            ) { #expect($0.status == .created) }
            let body = try keys.python(["mypos-request", keys.path("merchant.pem"), sid, wallet, "7"])
            try await client.execute(uri: "/vmp/checkout-test", method: .post, headers: Self.form, body: ByteBuffer(string: body)) {
                #expect($0.status == .ok)
            }
            try await client.execute(uri: "/vmp/checkout-test", method: .post, headers: Self.form, body: ByteBuffer(string: body)) {
                $0.expectProblem(.unauthorized, "replayed_request")
            }
        }
    }

    @Test func aliKassaSignsTheRawBodyWithSHA256OrLegacySHA1() async throws {
        let keys = try KeyFixtures()
        try keys.rsa("modern")
        try keys.rsa("legacy")
        let (app, tenant) = try await Harness.appWithTenant()
        _ = try await app.test(.router) { client in
            let created = try await client.call(
                .post,
                "/v1/manage/stores",
                key: tenant.liveKey.secret,
                json: try Self.json(["dialect": "alikassa", "name": "Kiosk"])
            )
            #expect(created.status == .created, "\(created.text)")
            let storeID = try #require(created.json["id"] as? String)
            let account = try #require(created.json["account"] as? String)
            #expect(UUID(uuidString: account) != nil)
            try await client.call(
                .post,
                "/v1/manage/stores/\(storeID)/keys",
                key: tenant.liveKey.secret,
                json: try Self.json(["public_key": try keys.read("modern.crt")])
            ) { #expect($0.status == .created, "\($0.text)") }
            try await client.call(
                .post,
                "/v1/manage/stores/\(storeID)/keys",
                key: tenant.liveKey.secret,
                json: try Self.json(["public_key": try keys.read("legacy.crt"), "legacy_sha1": true])
            ) {
                #expect(($0.json["data"] as? [[String: Any]])?.first?["hash"] as? String == "sha1")
            }

            let body = #"{"amount":"100.00","currency":"UAH","orderId":"ü-42"}"#
            func send(_ body: String, sign: String?, account: String = account) async throws -> TestResponse {
                var headers: HTTPFields = [.contentType: "application/json", .init("Account")!: account]
                if let sign { headers[.init("Sign")!] = sign }
                return try await client.execute(uri: "/v1/auth/test", method: .post, headers: headers, body: ByteBuffer(string: body)) { $0 }
            }
            let modern = try keys.python(["alikassa-sign", keys.path("modern.pem"), "sha256"], stdin: Data(body.utf8))
            let accepted = try await send(body, sign: modern)
            #expect(accepted.status == .ok, "\(accepted.text)")
            #expect(accepted.json["scheme"] as? String == "alikassa")
            #expect(accepted.json["mode"] as? String == "live")
            let legacy = try keys.python(["alikassa-sign", keys.path("legacy.pem"), "sha1"], stdin: Data(body.utf8))
            #expect(try await send(body, sign: legacy).status == .ok)
            // SHA-1 only for the key registered as legacy.
            let sha1ByModern = try keys.python(["alikassa-sign", keys.path("modern.pem"), "sha1"], stdin: Data(body.utf8))
            try await send(body, sign: sha1ByModern).expectProblem(.unauthorized, "signature_invalid")
            // One byte changed after signing (even whitespace) is refused.
            try await send(body.replacingOccurrences(of: ":", with: ": "), sign: modern).expectProblem(.unauthorized, "signature_invalid")
            try await send(body, sign: nil).expectProblem(.unauthorized, "signature_missing")
            try await send(body, sign: "***").expectProblem(.unauthorized, "signature_invalid")
            try await send(body, sign: modern, account: UUID().uuidString).expectProblem(.unauthorized, "unknown_store")
            // Store keys authenticate API calls, never the management API.
            let manage = try keys.python(["alikassa-sign", keys.path("modern.pem"), "sha256"], stdin: Data())
            try await client.execute(uri: "/v1/manage/keys", method: .get, headers: [.init("Account")!: account, .init("Sign")!: manage]) {
                $0.expectProblem(.forbidden, "insufficient_permissions")
            }
        }
    }
}
