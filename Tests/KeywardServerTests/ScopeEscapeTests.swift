import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KeywardCore
import KeywardCrypto
import KeywardServer
import KeywardTestSupport
import Testing

/// The attacks of the scope review, each tried the way an attacker would: a credential, a mode or a
/// member must never reach past what it holds.
@Suite(.closesStores) struct ScopeEscapeTests {
    static func json(_ object: [String: Any]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
    }

    /// A restricted live key with `keys.read, keys.write, keys.live` tries to roll an unrestricted key to
    /// receive its unrestricted secret.
    @Test func aRestrictedKeyCannotRollAWiderKey() async throws {
        let settings = Harness.settings()
        let services = try await Harness.services(settings)
        let tenant = try await Harness.tenant(services)
        let manager = try await services.secretKeys.create(
            merchantID: tenant.merchant.id,
            mode: .live,
            options: .init(permissions: ["keys.live", "keys.read", "keys.write"]),
            by: .platformOperator
        )
        let narrow = try await services.secretKeys.create(
            merchantID: tenant.merchant.id,
            mode: .live,
            options: .init(permissions: ["keys.read"]),
            by: .platformOperator
        )
        await services.store.shutdown()
        let app = try await Harness.app(settings)
        _ = try await app.test(.router) { client in
            try await client.call(.post, "/v1/manage/keys/\(tenant.liveKey.info.id)/roll", key: manager.secret, json: "{}") { response in
                response.expectProblem(.forbidden, "insufficient_permissions")
                #expect(response.json["secret"] == nil)
            }
            // The unrestricted key still works: nothing was rolled.
            try await client.call(.get, "/v1/auth/test", key: tenant.liveKey.secret) { #expect($0.status == .ok) }
            // Rolling a key within its own permissions is allowed.
            try await client.call(.post, "/v1/manage/keys/\(narrow.info.id)/roll", key: manager.secret, json: "{}") { response in
                #expect(response.status == .created, "\(response.text)")
                #expect(response.json["permissions"] as? [String] == ["keys.read"])
            }
        }
    }

    /// A key that expires tomorrow tries to roll (or make) secrets that outlive it.
    @Test func anExpiringKeyCannotMintSecretsThatOutliveIt() async throws {
        let settings = Harness.settings()
        let services = try await Harness.services(settings)
        let tenant = try await Harness.tenant(services)
        let tomorrow = Date().addingTimeInterval(86400)
        let temporary = try await services.secretKeys.create(
            merchantID: tenant.merchant.id,
            mode: .test,
            options: .init(expiresAt: tomorrow),
            by: .platformOperator
        )
        let paymentKey = try await services.paymentKeys.create(merchantID: tenant.merchant.id, mode: .test, label: "shop", by: .platformOperator)
        await services.store.shutdown()
        let app = try await Harness.app(settings)
        _ = try await app.test(.router) { client in
            try await client.call(.post, "/v1/manage/keys/\(tenant.testKey.info.id)/roll", key: temporary.secret, json: "{}") {
                $0.expectProblem(.forbidden, "insufficient_permissions")
            }
            try await client.call(.post, "/v1/manage/payment-keys/\(paymentKey.info.id)/roll", key: temporary.secret, json: "{}") {
                $0.expectProblem(.forbidden, "insufficient_permissions")
            }
            let later = Date().addingTimeInterval(7 * 86400).formatted(.iso8601)
            try await client.call(.post, "/v1/manage/keys", key: temporary.secret, json: #"{"expires_at":"\#(later)"}"#) {
                $0.expectProblem(.forbidden, "insufficient_permissions")
            }
            // Left out, the expiry is inherited: what it makes dies with it.
            try await client.call(.post, "/v1/manage/keys", key: temporary.secret, json: #"{"name":"child"}"#) { response in
                #expect(response.status == .created, "\(response.text)")
                let expires = try #require((response.json["expires_at"] as? String).flatMap { try? Date($0, strategy: .iso8601) })
                #expect(abs(expires.timeIntervalSince(tomorrow)) < 1)
            }
            try await client.call(.post, "/v1/manage/payment-keys", key: temporary.secret, json: #"{"label":"child"}"#) { response in
                #expect(response.status == .created, "\(response.text)")
                #expect(response.json["expires_at"] as? String != nil)
            }
        }
    }

    /// A restricted key registers a signing key and a JWK and generates a store key without naming
    /// limits: they used to authenticate with every permission (`Keyward-Permissions: *`).
    @Test func credentialsMadeByARestrictedKeyInheritItsLimits() async throws {
        let settings = Harness.settings()
        let services = try await Harness.services(settings)
        let tenant = try await Harness.tenant(services)
        let restricted = try await services.secretKeys.create(
            merchantID: tenant.merchant.id,
            mode: .test,
            options: .init(permissions: ["keys.read", "keys.write", "payments.read"]),
            by: .platformOperator
        )
        await services.store.shutdown()
        let app = try await Harness.app(settings)
        let privateKey = Curve25519.Signing.PrivateKey()
        _ = try await app.test(.router) { client in
            let registered = try await client.call(
                .post,
                "/v1/manage/signing-keys",
                key: restricted.secret,
                json: try Self.json(["name": "child", "public_key": SignedRequestTests.pem(privateKey)])
            )
            #expect(registered.status == .created, "\(registered.text)")
            let limits = try #require(registered.json["limits"] as? [String: Any])
            #expect(limits["permissions"] as? [String] == ["keys.read", "keys.write", "payments.read"])
            let keyID = try #require(registered.json["id"] as? String)
            let headers = try SignedRequestTests.signedHeaders(method: "GET", path: "/v1/auth/test", key: .ed25519(privateKey), keyID: keyID)
            try await client.execute(uri: "/v1/auth/test", method: .get, headers: headers) { response in
                #expect(response.status == .ok, "\(response.text)")
                #expect(response.json["permissions"] as? [String] == ["keys.read", "keys.write", "payments.read"], "not '*'")
            }
            // Asking for more than the creator holds is refused, for every kind.
            try await client.call(
                .post,
                "/v1/manage/signing-keys",
                key: restricted.secret,
                json: try Self.json(["public_key": SignedRequestTests.pem(.init()), "permissions": ["payments.write"]])
            ) {
                $0.expectProblem(.forbidden, "insufficient_permissions")
            }
            try await client.call(.post, "/v1/manage/jwks/generate", key: restricted.secret, json: #"{"permissions":["refunds.write"]}"#) {
                $0.expectProblem(.forbidden, "insufficient_permissions")
            }
            try await client.call(.post, "/v1/manage/jwks/generate", key: restricted.secret, json: #"{"name":"bank"}"#) { response in
                #expect(response.status == .created, "\(response.text)")
                #expect((response.json["limits"] as? [String: Any])?["permissions"] as? [String] == ["keys.read", "keys.write", "payments.read"])
            }
            let store = try await client.call(.post, "/v1/manage/stores", key: restricted.secret, json: #"{"dialect":"alikassa"}"#)
            let storeID = try #require(store.json["id"] as? String)
            try await client.call(.post, "/v1/manage/stores/\(storeID)/keys/generate", key: restricted.secret, json: "{}") { response in
                #expect(response.status == .created, "\(response.text)")
                let key = (response.json["data"] as? [[String: Any]])?.first
                #expect((key?["limits"] as? [String: Any])?["permissions"] as? [String] == ["keys.read", "keys.write", "payments.read"])
            }
        }
    }

    /// A signing key limited to an office network signs a request from elsewhere (the router test has
    /// no peer address, like a call from an unknown network): it used to pass from anywhere.
    @Test func aSigningKeyIsRefusedOutsideItsAllowlist() async throws {
        let (app, tenant) = try await Harness.appWithTenant()
        let privateKey = Curve25519.Signing.PrivateKey()
        _ = try await app.test(.router) { client in
            let registered = try await client.call(
                .post,
                "/v1/manage/signing-keys",
                key: tenant.testKey.secret,
                json: try Self.json(["public_key": SignedRequestTests.pem(privateKey), "allowed_ips": ["10.0.0.0/8"]])
            )
            #expect(registered.status == .created, "\(registered.text)")
            let keyID = try #require(registered.json["id"] as? String)
            let headers = try SignedRequestTests.signedHeaders(method: "GET", path: "/v1/auth/test", key: .ed25519(privateKey), keyID: keyID)
            try await client.execute(uri: "/v1/auth/test", method: .get, headers: headers) { $0.expectProblem(.forbidden, "ip_not_allowed") }
        }
    }

    /// A JWK limited to a network: sessions cannot be opened (nor used) from elsewhere.
    @Test func sessionsOfALimitedJWKAreRefusedOutsideItsAllowlist() async throws {
        let (app, tenant) = try await Harness.appWithTenant()
        _ = try await app.test(.router) { client in
            try await client.call(.post, "/v1/manage/jwks/generate", key: tenant.testKey.secret, json: #"{"allowed_ips":["192.0.2.0/24"]}"#) {
                #expect($0.status == .created, "\($0.text)")
            }
            let code = try #require(
                try await client.call(.get, "/v1/manage/service-code", key: tenant.testKey.secret).json["service_code"] as? String
            )
            try await client.call(
                .post,
                "/api-gateway/authorize_virtual_device",
                key: nil,
                json: #"{"serviceCode":"\#(code)"}"#,
                headers: [.init("x-api_version")!: "1"]
            ) { $0.expectProblem(.forbidden, "ip_not_allowed") }
        }
    }

    /// An unrestricted test-mode key (the kind pasted into staging configs) tries to change state that
    /// applies to live traffic, and to read what happened in live mode.
    @Test func aTestKeyCannotReachLiveOrMerchantWideState() async throws {
        let (app, tenant) = try await Harness.appWithTenant()
        _ = try await app.test(.router) { client in
            let test = tenant.testKey.secret
            try await client.call(.put, "/v1/manage/webhook", key: test, json: #"{"url":"https://attacker.example/hook"}"#) {
                $0.expectProblem(.forbidden, "live_key_required")
            }
            try await client.call(.delete, "/v1/manage/webhook", key: test) { $0.expectProblem(.forbidden, "live_key_required") }
            try await client.call(.get, "/v1/manage/webhook/deliveries", key: test) { $0.expectProblem(.forbidden, "live_key_required") }
            try await client.call(.put, "/v1/manage/apple-pay/domain-association", key: test, json: "attacker's file") {
                $0.expectProblem(.forbidden, "live_key_required")
            }
            try await client.call(.delete, "/v1/manage/apple-pay/domain-association", key: test) { $0.expectProblem(.forbidden, "live_key_required") }
            try await client.call(.patch, "/v1/manage/settings", key: test, json: #"{"allowed_ips":[]}"#) {
                $0.expectProblem(.forbidden, "live_key_required")
            }
            try await client.call(.get, "/v1/manage/settings", key: test) { $0.expectProblem(.forbidden, "live_key_required") }

            // Live changes are audited; a test key reads test-mode entries only.
            try await client.call(.post, "/v1/manage/keys", key: tenant.liveKey.secret, json: #"{"name":"live child"}"#) {
                #expect($0.status == .created)
            }
            try await client.call(.post, "/v1/manage/keys", key: test, json: #"{"name":"test child"}"#) { #expect($0.status == .created) }
            let seenByTest = try await client.call(.get, "/v1/manage/audit", key: test)
            let testEntries = try #require(seenByTest.json["data"] as? [[String: Any]])
            #expect(!testEntries.isEmpty)
            #expect(testEntries.allSatisfy { $0["mode"] as? String == "test" }, "\(testEntries)")
            let exported = try await client.call(.get, "/v1/manage/audit/export", key: test).text
            #expect(!exported.contains("\"live\"") && exported.contains("\"test\""))
            let seenByLive = try await client.call(.get, "/v1/manage/audit", key: tenant.liveKey.secret)
            #expect((seenByLive.json["data"] as? [[String: Any]])?.contains { $0["mode"] as? String == "live" } == true)
        }
    }

    /// "A.1" + "2" and "A" + "1.2" join to the same hashed string: an order id with a dot is refused.
    @Test func orderIdsThatMakeTheHashAmbiguousAreRefused() async throws {
        let (app, tenant) = try await Harness.appWithTenant()
        _ = try await app.test(.router) { client in
            try await client.call(.post, "/v1/manage/payment-keys", key: tenant.testKey.secret, json: #"{"label":"shop"}"#) {
                #expect($0.status == .created)
            }
            let hash =
                try await client.call(
                    .post,
                    "/v1/manage/order-hash",
                    key: tenant.testKey.secret,
                    json: #"{"order_id":"A","amount":"1.2","currency":"EGP"}"#
                ).json["hash"] as? String
            let forged = #"{"order_id":"A.1","amount":"2","currency":"EGP","hash":"\#(hash ?? "")"}"#
            try await client.call(.post, "/v1/manage/order-hash/verify", key: tenant.testKey.secret, json: forged) {
                $0.expectProblem(.badRequest, "order_id_has_separator")
            }
            try await client.call(
                .post,
                "/v1/manage/order-hash",
                key: tenant.testKey.secret,
                json: #"{"order_id":"A.1","amount":"2","currency":"EGP"}"#
            ) {
                $0.expectProblem(.badRequest, "order_id_has_separator")
            }
        }
    }

    /// A Developer (no `settings.write`) makes a key in the cabinet: it used to be unrestricted, so it
    /// could set the merchant's webhook through the API. And rolling an unrestricted key would hand the
    /// Developer its unrestricted secret.
    @Test func aDeveloperCannotMintOrRollAKeyWiderThanTheirRole() async throws {
        typealias Browser = CabinetTests.Browser
        let clock = TestClock()
        let settings = Harness.settings()
        let services = try await Harness.services(settings, clock: clock.clock)
        let (email, password, merchant) = try await CabinetTests.member(services, role: .developer)
        let unrestricted = try await services.secretKeys.create(
            merchantID: merchant.id,
            mode: .test,
            options: .init(name: "owner's"),
            by: .platformOperator
        )
        let app = try await Harness.app(settings, clock: clock.clock)
        _ = try await app.test(.router) { client in
            let browser = try await CabinetKeysTests.signIn(client, services, email: email, password: password, totp: nil, at: clock.clock.now())
            let page = String(buffer: try await browser.send(client, .get, "/cabinet/keys?mode=test").body)
            #expect(!page.contains("value=\"unrestricted\""), "a Developer is not offered unrestricted keys")
            #expect(page.contains("permission.keys.write") && !page.contains("permission.settings.write"))
            let csrf = try #require(Browser.csrf(page))
            let wide = try await browser.send(
                client,
                .post,
                "/cabinet/keys",
                form: ["mode": "test", "csrf": csrf, "name": "sneaky", "access": "unrestricted"]
            )
            #expect(wide.status == .forbidden && String(buffer: wide.body).contains("lacks"))
            let forged = try await browser.send(
                client,
                .post,
                "/cabinet/keys",
                form: ["mode": "test", "csrf": csrf, "name": "forged", "access": "restricted", "permission.settings.write": "on"]
            )
            #expect(forged.status == .forbidden)
            let made = try await browser.send(
                client,
                .post,
                "/cabinet/keys",
                form: [
                    "mode": "test", "csrf": csrf, "name": "backend", "access": "restricted",
                    "permission.keys.read": "on", "scopes": "payments.write, refunds.read",
                ]
            )
            #expect(made.status == .created, "\(String(buffer: made.body).prefix(300))")
            let secret = try CabinetKeyActionsTests.secret(made)
            try await client.call(.get, "/v1/auth/test", key: secret) { response in
                #expect(response.json["permissions"] as? [String] == ["keys.read", "payments.write", "refunds.read"])
            }
            try await client.call(.put, "/v1/manage/webhook", key: secret, json: #"{"url":"https://attacker.example/hook"}"#) {
                #expect($0.status == .forbidden)
            }
            let roll = try await browser.send(
                client,
                .post,
                "/cabinet/keys/\(unrestricted.info.id)/roll",
                form: ["mode": "test", "csrf": csrf, "overlap": "0"]
            )
            #expect(roll.status == .forbidden && !String(buffer: roll.body).contains("kw_test_"))
            try await client.call(.get, "/v1/auth/test", key: unrestricted.secret) { #expect($0.status == .ok, "nothing was rolled") }
        }
    }
}
