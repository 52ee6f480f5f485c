import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KeywardCore
import KeywardCrypto
import KeywardDialects
import KeywardServer
import Testing

/// `POST /v1/auth/diagnose`: the step that fails, and the usual mistake that explains it.
@Suite(.closesStores) struct DiagnoseTests {
    static func sign(_ values: [String], _ key: RSASigningKey, digest: SignatureDigest = .sha256, base64: Bool = true) throws -> String {
        let content = base64 ? MyPOSIPC.signedContent(values: values) : Array(values.joined(separator: "-").utf8)
        return Data(try key.signPKCS1v15(content, digest: digest)).base64EncodedString()
    }

    @Test func explainsTheUsualMistakes() async throws {
        let settings = Harness.settings()
        let services = try await Harness.services(settings)
        let tenant = try await Harness.tenant(services)
        let other = try await Harness.tenant(services)
        let store = try await services.stores.create(merchantID: tenant.merchant.id, mode: .test, NewStore(name: "shop", dialect: .mypos))
        let foreign = try await services.stores.create(merchantID: other.merchant.id, mode: .test, NewStore(name: "theirs", dialect: .mypos))
        let first = try RSASigningKey.generate(bits: 2048)
        let second = try RSASigningKey.generate(bits: 2048)
        _ = try await services.stores.addKeys(
            merchantID: tenant.merchant.id,
            mode: .test,
            storeID: store.id,
            pem: first.publicKey.spkiPEM,
            limits: RequestedLimits(),
            by: .platformOperator
        )
        _ = try await services.stores.addKeys(
            merchantID: tenant.merchant.id,
            mode: .test,
            storeID: store.id,
            pem: second.publicKey.spkiPEM,
            limits: RequestedLimits(),
            by: .platformOperator
        )
        let kassa = try await services.stores.create(merchantID: tenant.merchant.id, mode: .test, NewStore(name: "kiosk", dialect: .alikassa))
        _ = try await services.stores.addKeys(
            merchantID: tenant.merchant.id,
            mode: .test,
            storeID: kassa.id,
            pem: first.publicKey.spkiPEM,
            limits: RequestedLimits(),
            by: .platformOperator
        )
        await services.store.shutdown()

        let base: [(name: String, value: String)] = [
            ("IPCmethod", "IPCPurchase"), ("SID", store.externalID), ("WalletNumber", store.walletNumber ?? ""),
            ("Amount", "23.45"), ("Note", ""), ("OrderID", "a b&c"), ("KeyIndex", "1"),
        ]
        func form(_ pairs: [(name: String, value: String)], signature: String) -> String {
            FormEncoding.encode(pairs + [("Signature", signature)])
        }
        let values = base.map(\.value)
        let index9: [(name: String, value: String)] = base.map { $0.name == "KeyIndex" ? ($0.name, "9") : $0 }
        let cases: [(String, String, String)] = [
            (form(base, signature: try Self.sign(values, first)), "", "verifies"),
            (form(base, signature: try Self.sign(values, second)), "unknown_key_index", "key index 2"),
            (form(base, signature: try Self.sign(base.sorted { $0.name < $1.name }.map(\.value), first)), "signature_invalid", "alphabetical"),
            (form(base, signature: try Self.sign(values.filter { !$0.isEmpty }, first)), "signature_invalid", "Empty values"),
            (
                form(base, signature: try Self.sign(FormEncoding.rawPairs(Array(FormEncoding.encode(base).utf8)).map(\.value), first)),
                "signature_invalid", "URL-encoded"
            ),
            (form(base, signature: try Self.sign(values, first, base64: false)), "signature_invalid", "without base64"),
            (form(base, signature: try Self.sign(values, first, digest: .sha1)), "signature_invalid", "SHA-1"),
            (form(base + [("OutputFormat", "json")], signature: try Self.sign(values, first)), "signature_invalid", "'OutputFormat' was not signed"),
            (form(index9, signature: try Self.sign(index9.map(\.value), first)), "unknown_key_index", "KeyIndex=1"),
            (
                form(base.map { $0.name == "SID" ? ($0.name, foreign.externalID) : $0 }, signature: "AAAA"), "unknown_store",
                "None of your test-mode stores"
            ),
        ]
        let app = try await Harness.app(settings)
        _ = try await app.test(.router) { client in
            for (body, code, phrase) in cases {
                let request = try ProviderGatewayTests.json(["dialect": "mypos", "body": body])
                let response = try await client.call(.post, "/v1/auth/diagnose", key: tenant.testKey.secret, json: request)
                #expect(response.status == .ok, "\(response.text)")
                #expect((response.json["valid"] as? Bool) == code.isEmpty, "\(phrase): \(response.text)")
                #expect((response.json["code"] as? String ?? "") == code, "\(phrase): \(response.text)")
                #expect((response.json["explanation"] as? String)?.contains(phrase) == true, "\(phrase): \(response.text)")
            }

            // AliKassa: SHA-1 on a key not registered as legacy; a line break added after signing.
            let payload = #"{"amount":"5.00"}"#
            let sha1 = Data(try first.signPKCS1v15(Array(payload.utf8), digest: .sha1)).base64EncodedString()
            let sha256 = Data(try first.signPKCS1v15(Array(payload.utf8), digest: .sha256)).base64EncodedString()
            for (body, sign, phrase) in [(payload, sha1, "SHA1"), (payload + "\n", sha256, "trailing line break"), (payload, sha256, "verifies")] {
                let request = try ProviderGatewayTests.json([
                    "dialect": "alikassa", "body": body, "headers": ["Account": kassa.externalID, "Sign": sign],
                ])
                let response = try await client.call(.post, "/v1/auth/diagnose", key: tenant.testKey.secret, json: request)
                #expect((response.json["explanation"] as? String)?.contains(phrase) == true, "\(phrase): \(response.text)")
            }

            // Live keys and signed requests cannot use it.
            try await client.call(.post, "/v1/auth/diagnose", key: tenant.liveKey.secret, json: #"{"dialect":"mypos","body":""}"#) {
                $0.expectProblem(.forbidden, "test_mode_only")
            }
            try await client.call(.post, "/v1/auth/diagnose", key: tenant.testKey.secret, json: #"{"dialect":"soap","body":""}"#) {
                $0.expectProblem(.badRequest, "invalid_dialect")
            }
        }
    }

    @Test func explainsAnRFC9421SignatureMadeForHTTP() async throws {
        let settings = Harness.settings()
        let services = try await Harness.services(settings)
        let tenant = try await Harness.tenant(services)
        let (privateKey, registered) = try await Harness.ed25519SigningKey(services, tenant)
        await services.store.shutdown()
        let now = Int(Date().timeIntervalSince1970)
        let body = Array(#"{"amount":"1.00"}"#.utf8)
        let plain = try ManualSigning.signRFC9421(
            method: "POST",
            url: "http://localhost/v1/payments",
            body: body,
            key: .ed25519(privateKey),
            keyID: registered.id,
            created: now,
            nonce: "n1"
        )
        let good = try ManualSigning.signRFC9421(
            method: "POST",
            url: "https://localhost/v1/payments",
            body: body,
            key: .ed25519(privateKey),
            keyID: registered.id,
            created: now,
            nonce: "n2"
        )
        let app = try await Harness.app(settings)
        _ = try await app.test(.router) { client in
            for (headers, valid, phrase) in [(plain, false, "http:// URL"), (good, true, "verifies")] {
                let request = try ProviderGatewayTests.json([
                    "dialect": "rfc9421", "body": String(decoding: body, as: UTF8.self), "method": "POST",
                    "url": "https://localhost/v1/payments",
                    "headers": Dictionary(uniqueKeysWithValues: headers.map { ($0.name, $0.value) }),
                ])
                let response = try await client.call(.post, "/v1/auth/diagnose", key: tenant.testKey.secret, json: request)
                #expect(response.json["valid"] as? Bool == valid, "\(response.text)")
                #expect((response.json["explanation"] as? String)?.contains(phrase) == true, "\(response.text)")
            }
        }
    }
}
