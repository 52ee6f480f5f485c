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

/// What the merchant sees of a leak: the overlap a leaked test key keeps, the webhook, the audit entry and
/// the cabinet banner (which name the key but never the token).
extension LeakedKeyTests {
    // MARK: - The merchant's overlap for test keys

    @Test func aLeakedTestKeyKeepsWorkingOnlyUntilTheMerchantsOverlapEnds() async throws {
        let scanner = try Scanner()
        let clock = TestClock()
        let settings = Harness.settings {
            $0.secretScanningKeys = scanner.file
            Harness.loopbackWebhooks(&$0, names: ["shop.example"])
        }
        let services = try await Harness.services(settings, clock: clock.clock)
        let tenant = try await Harness.tenant(services)
        let strict = try await Harness.tenant(services)
        _ = try await Harness.app(settings, clock: clock.clock).test(.router) { client in
            // The setting: live keys only, 0 to 3600 seconds.
            try await client.call(.patch, "/v1/manage/settings", key: tenant.liveKey.secret, json: #"{"leaked_test_key_grace_seconds":3601}"#) {
                $0.expectProblem(.badRequest, "invalid_leaked_test_key_grace")
            }
            try await client.call(.patch, "/v1/manage/settings", key: tenant.testKey.secret, json: #"{"leaked_test_key_grace_seconds":600}"#) {
                $0.expectProblem(.forbidden, "live_key_required")
            }
            try await client.call(.patch, "/v1/manage/settings", key: tenant.liveKey.secret, json: #"{"leaked_test_key_grace_seconds":3600}"#) {
                #expect($0.status == .ok && $0.json["leaked_test_key_grace_seconds"] as? Int == 3600, "\($0.text)")
            }
            // Both keys of the merchant with an overlap leak, and the test key of a merchant without one.
            let response = try await scanner.report(client, Self.body([tenant.testKey.secret, tenant.liveKey.secret, strict.testKey.secret]))
            #expect(Self.feedback(response).map { $0["label"] } == ["true_positive", "true_positive", "true_positive"])
            try await client.call(.get, "/v1/auth/test", key: tenant.liveKey.secret) { $0.expectProblem(.unauthorized, "key_revoked") }
            try await client.call(.get, "/v1/auth/test", key: strict.testKey.secret) { $0.expectProblem(.unauthorized, "key_revoked") }
            try await client.call(.get, "/v1/auth/test", key: tenant.testKey.secret) { #expect($0.status == .ok) }

            // A later report from another place does not lengthen the overlap. (The test clock runs with
            // real time too: the margins leave minutes for a slow machine.)
            clock.advance(1800)
            try await scanner.report(client, Self.body([tenant.testKey.secret], url: "https://gist.github.com/x/1", source: "gist_content"))
            clock.advance(1500)
            try await client.call(.get, "/v1/auth/test", key: tenant.testKey.secret) { #expect($0.status == .ok) }
            clock.advance(400)
            try await client.call(.get, "/v1/auth/test", key: tenant.testKey.secret) { $0.expectProblem(.unauthorized, "key_expired") }
        }
        let key = try await services.secretKeys.get(merchantID: tenant.merchant.id, mode: .test, id: tenant.testKey.info.id)
        #expect(key.revokedAt == nil && key.status(at: clock.clock.now()) == .expired)
        #expect(
            try await Self.leakRows(services, merchantID: tenant.merchant.id).compactMap { $0["action"] }.sorted() == [
                "expiring", "expiring", "revoked",
            ]
        )
    }

    @Test func theCabinetSettingsPageSetsTheOverlapOfLeakedTestKeys() async throws {
        let clock = TestClock()
        let settings = Harness.settings()
        let services = try await Harness.services(settings, clock: clock.clock)
        let (email, password, merchant, totp) = try await CabinetKeyActionsTests.enrolled(services, role: .owner, clock: clock)
        _ = try await Harness.app(settings, clock: clock.clock).test(.router) { client in
            let browser = try await CabinetKeysTests.signIn(client, services, email: email, password: password, totp: totp, at: clock.clock.now())
            let page = String(buffer: try await browser.send(client, .get, "/cabinet/settings").body)
            #expect(page.contains(#"name="leaked_test_key_grace_seconds""#) && page.contains("Live keys are always revoked at once."))
            let csrf = try #require(CabinetTests.Browser.csrf(page))
            for bad in ["3601", "-1", "soon"] {
                let refused = try await browser.send(
                    client,
                    .post,
                    "/cabinet/settings",
                    form: ["csrf": csrf, "rotation_days": "90", "allowed_ips": "", "leaked_test_key_grace_seconds": bad]
                )
                #expect(refused.status == .badRequest && String(buffer: refused.body).contains("0 to 3600"), "\(bad)")
            }
            #expect(try await services.merchantSettings.get(merchantID: merchant.id).leakedTestKeyGraceSeconds == 0)
            let saved = try await browser.send(
                client,
                .post,
                "/cabinet/settings",
                form: ["csrf": csrf, "rotation_days": "90", "allowed_ips": "", "leaked_test_key_grace_seconds": "120"]
            )
            #expect(saved.status == .ok && String(buffer: saved.body).contains(#"value="120""#))
            #expect(try await services.merchantSettings.get(merchantID: merchant.id).leakedTestKeyGraceSeconds == 120)
        }
    }

    // MARK: - The merchant hears of it, and never sees the token

    @Test func theWebhookAuditEntryAndCabinetBannerNameTheKeyButNeverTheToken() async throws {
        let scanner = try Scanner()
        let clock = TestClock()
        let settings = Harness.settings {
            $0.secretScanningKeys = scanner.file
            Harness.loopbackWebhooks(&$0, names: ["shop.example"])
        }
        let services = try await Harness.services(settings, clock: clock.clock)
        let (email, password, merchant, totp) = try await CabinetKeyActionsTests.enrolled(services, role: .owner, clock: clock)
        let key = try await services.secretKeys.create(
            merchantID: merchant.id,
            mode: .live,
            options: .init(name: "checkout-backend"),
            by: .platformOperator
        )
        _ = try await services.webhooks.setEndpoint(merchantID: merchant.id, url: "https://shop.example/hooks")
        let url = "https://github.com/octo/shop/blob/0123abc/.env"
        _ = try await Harness.app(settings, clock: clock.clock).test(.router) { client in
            let browser = try await CabinetKeysTests.signIn(client, services, email: email, password: password, totp: totp, at: clock.clock.now())
            #expect(!String(buffer: try await browser.send(client, .get, "/cabinet").body).contains("leak-banner"))

            #expect(try await scanner.report(client, Self.body([key.secret], url: url, source: "commit")).status == .ok)

            // The webhook: which key, where, what was done.
            let deliveries = try await services.webhooks.deliveries(merchantID: merchant.id).filter { $0.eventType == "key.leaked" }
            #expect(deliveries.count == 1)
            let payload = try #require(deliveries.first?.payload)
            #expect(!payload.contains(key.secret) && !payload.contains(Self.sha256(key.secret)))
            let event = try #require(try JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any])
            let data = try #require(event["data"] as? [String: Any])
            #expect(event["type"] as? String == "key.leaked" && data["action"] as? String == "revoked")
            #expect((data["key"] as? [String: String]) == ["id": key.info.id, "name": "checkout-backend", "mode": "live", "last4": key.info.last4])
            let leak = try #require(data["leak"] as? [String: String])
            #expect(leak["url"] == url && leak["source"] == "commit" && leak["token_type"] == "keyward_secret_key")

            // The audit entry: the scanner did it, to that key, in live mode.
            let entries = try await Self.leakAudit(services, merchantID: merchant.id)
            #expect(entries.count == 1)
            let entry = try #require(entries.first)
            #expect(
                entry.actorType == "scanner" && entry.actorID == scanner.identifier && entry.targetID == key.info.id && entry.mode == .live
                    && entry.outcome == "revoked"
            )
            #expect(try await services.audit.verify().firstProblem == nil)

            // The banner, on every main page, names the key and the place; the audit page shows the entry.
            for page in ["/cabinet", "/cabinet/keys?mode=live", "/cabinet/settings", "/cabinet/certificates", "/cabinet/team", "/cabinet/audit"] {
                let html = String(buffer: try await browser.send(client, .get, page).body)
                #expect(
                    html.contains(#"id="leak-banner""#) && html.contains("checkout-backend") && html.contains(url)
                        && html.contains("Keyward revoked it."),
                    "\(page)"
                )
                #expect(!html.contains(key.secret) && !html.contains(Self.sha256(key.secret)), "\(page)")
            }
            // Fourteen days on, the banner is gone.
            clock.advance(15 * 86400)
            let later = try await CabinetKeysTests.signIn(client, services, email: email, password: password, totp: totp, at: clock.clock.now())
            #expect(!String(buffer: try await later.send(client, .get, "/cabinet").body).contains("leak-banner"))
        }
        for row in try await Self.leakRows(services, merchantID: merchant.id) {
            #expect(!row.values.contains { $0.contains(key.secret) })
        }
    }

}
