import Foundation
import Hummingbird
import HummingbirdTesting
import KeywardCore
import KeywardCrypto
import KeywardServer
import Testing

@Suite(.closesStores) struct GatewayTests {
    @Test func bearerAndBareKeysAuthenticate() async throws {
        let (app, tenant) = try await Harness.appWithTenant()
        _ = try await app.test(.router) { client in
            for header in ["Bearer \(tenant.testKey.secret)", tenant.testKey.secret] {
                try await client.execute(uri: "/v1/auth/test", method: .get, headers: [.authorization: header]) { response in
                    #expect(response.status == .ok)
                    #expect(response.json["merchant_id"] as? String == tenant.merchant.id)
                    #expect(response.json["mid"] as? String == tenant.merchant.mid)
                    #expect(response.json["mode"] as? String == "test")
                    #expect(response.json["key_id"] as? String == tenant.testKey.info.id)
                    #expect(response.json["permissions"] as? [String] == ["*"])
                    #expect(response.headers[.init("Keyward-Request-Id")!] != nil)
                }
            }
            try await client.call(.get, "/v1/auth/test", key: tenant.liveKey.secret) { response in
                #expect(response.json["mode"] as? String == "live")
            }
        }
    }

    @Test func malformedAuthorizationIsA401NeverA500() async throws {
        let settings = Harness.settings()
        let app = try await Harness.app(settings)
        let valid = APIKeyFormatSample.validButUnknown
        let cases: [(String?, String)] = [
            (nil, "missing_credentials"), ("", "missing_credentials"), ("   ", "missing_credentials"),
            (String(repeating: "A", count: 5000), "invalid_key"), ("Bearer kw_test_\u{00e9}\u{00e9}", "invalid_key"),
            ("Basic dXNlcjpwYXNz", "invalid_key"), ("Bearer sk_test_123", "invalid_key"),
            ("Bearer " + String(valid.dropLast(3)), "invalid_key"), ("Bearer " + valid, "invalid_key"),
            ("Bearer a b c", "invalid_key"),
        ]
        _ = try await app.test(.router) { client in
            for (header, code) in cases {
                var headers = HTTPFields()
                if let header { headers[.authorization] = header }
                try await client.execute(uri: "/v1/auth/test", method: .get, headers: headers) { response in
                    response.expectProblem(.unauthorized, code, notContaining: header)
                    #expect(response.headers[.wwwAuthenticate] == "Bearer realm=\"keyward\"")
                }
            }
            // A typo in a real-looking key is caught by the checksum, and the message says so.
            var typo = Array(valid)
            typo[20] = typo[20] == "a" ? "b" : "a"
            try await client.call(.get, "/v1/auth/test", key: String(typo)) { response in
                response.expectProblem(.unauthorized, "invalid_key")
                #expect((response.json["detail"] as? String)?.contains("checksum") == true)
            }
        }
    }

    /// Random header values (printable, control-free, and non-ASCII) are always a clean 401.
    @Test func randomAuthorizationValuesNeverBreakTheGateway() async throws {
        let app = try await Harness.app(Harness.settings())
        let alphabet = Array("abcXYZ019_-+/=. \t\"'{}kw_test_kw_live_Bearer\u{e9}\u{4e2d}\u{1F511}")
        _ = try await app.test(.router) { client in
            var generator = SystemRandomNumberGenerator()
            for _ in 0..<300 {
                let length = Int.random(in: 0...80, using: &generator)
                let value = String((0..<length).map { _ in alphabet.randomElement(using: &generator)! })
                var headers = HTTPFields()
                headers[.authorization] = value
                let response = try await client.execute(uri: "/v1/auth/test", method: .get, headers: headers) { $0 }
                #expect(response.status == .unauthorized, "\(value.debugDescription) -> \(response.status)")
                #expect(response.headers[.contentType] == "application/problem+json")
            }
        }
    }

    @Test func revokedAndExpiredKeysSayWhy() async throws {
        let clock = TestClock()
        let settings = Harness.settings()
        let services = try await Harness.services(settings, clock: clock.clock)
        let tenant = try await Harness.tenant(services)
        let expiring = try await services.secretKeys.create(
            merchantID: tenant.merchant.id,
            mode: .test,
            options: .init(expiresAt: Date().addingTimeInterval(3600)),
            by: .platformOperator
        )
        let app = try await Harness.app(settings, clock: clock.clock)
        _ = try await app.test(.router) { client in
            try await client.call(.get, "/v1/auth/test", key: expiring.secret) { #expect($0.status == .ok) }
            clock.advance(3601)
            try await client.call(.get, "/v1/auth/test", key: expiring.secret) {
                $0.expectProblem(.unauthorized, "key_expired", notContaining: expiring.secret)
            }
            try await client.call(.post, "/v1/manage/keys/\(tenant.testKey.info.id)/revoke", key: tenant.testKey.secret) { #expect($0.status == .ok) }
            try await client.call(.get, "/v1/auth/test", key: tenant.testKey.secret) { $0.expectProblem(.unauthorized, "key_revoked") }
        }
        await services.store.shutdown()
    }

    @Test func restrictedKeysReachTheGatewayButNotManagement() async throws {
        let settings = Harness.settings()
        let services = try await Harness.services(settings)
        let tenant = try await Harness.tenant(services)
        let restricted = try await services.secretKeys.create(
            merchantID: tenant.merchant.id,
            mode: .test,
            options: .init(permissions: ["payments.write", "payments.read"]),
            by: .platformOperator
        )
        await services.store.shutdown()
        let app = try await Harness.app(settings)
        _ = try await app.test(.router) { client in
            try await client.call(.get, "/v1/auth/test", key: restricted.secret) { response in
                #expect(response.json["permissions"] as? [String] == ["payments.read", "payments.write"])
            }
            try await client.call(.get, "/v1/manage/keys", key: restricted.secret) { $0.expectProblem(.forbidden, "insufficient_permissions") }
            try await client.call(.post, "/v1/manage/keys", key: restricted.secret, json: "{}") {
                $0.expectProblem(.forbidden, "insufficient_permissions")
            }
        }
    }

    @Test func unknownPathsAreProblemJSON() async throws {
        let app = try await Harness.app(Harness.settings())
        _ = try await app.test(.router) { client in
            try await client.call(.get, "/nope", key: nil) { $0.expectProblem(.notFound, "not_found") }
            try await client.call(.get, "/healthz", key: nil) { #expect($0.status == .ok) }
        }
    }
}

enum APIKeyFormatSample {
    /// A well-formed key that no database holds.
    static let validButUnknown = KeywardCrypto.APIKeyFormat.generate(mode: .test)
}
