import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KeywardCore
import KeywardCrypto
import KeywardServer
import KeywardTestSupport
import Testing

/// The Settings page: rotation period (flags keys on the Keys page), the merchant-wide IP allowlist
/// (enforced by the gateway at once), the webhook endpoint; settings.write only.
@Suite(.closesStores) struct CabinetSettingsTests {
    typealias Browser = CabinetTests.Browser

    @Test func settingsChangeWhatTheKeysPageFlagsAndWhereKeysWork() async throws {
        let clock = TestClock()
        let settings = Harness.settings { Harness.loopbackWebhooks(&$0, names: ["shop.example"]) }
        let services = try await Harness.services(settings, clock: clock.clock)
        let (email, password, merchant, totp) = try await CabinetKeyActionsTests.enrolled(services, role: .owner, clock: clock)
        let key = try await services.secretKeys.create(merchantID: merchant.id, mode: .test, options: .init(name: "backend"), by: .platformOperator)
        clock.advance(10 * 86400)
        let app = try await Harness.app(settings, clock: clock.clock)
        _ = try await app.test(.router) { client in
            let browser = try await CabinetKeysTests.signIn(client, services, email: email, password: password, totp: totp, at: clock.clock.now())
            let page = String(buffer: try await browser.send(client, .get, "/cabinet/settings").body)
            #expect(page.contains(#"value="90""#))
            let csrf = try #require(Browser.csrf(page))
            #expect(!String(buffer: try await browser.send(client, .get, "/cabinet/keys?mode=test").body).contains("rotate:"))

            // Bad values: the reason, and nothing saved.
            let badCIDR = try await browser.send(
                client,
                .post,
                "/cabinet/settings",
                form: ["csrf": csrf, "rotation_days": "7", "allowed_ips": "10.0.0.0/8\n<b>nope</b>"]
            )
            #expect(badCIDR.status == .badRequest && String(buffer: badCIDR.body).contains("&lt;b&gt;nope"))
            let badDays = try await browser.send(client, .post, "/cabinet/settings", form: ["csrf": csrf, "rotation_days": "3", "allowed_ips": ""])
            #expect(badDays.status == .badRequest && String(buffer: badDays.body).contains("7 to 730 days"))
            #expect(try await services.merchantSettings.get(merchantID: merchant.id) == .defaults)

            // A 7-day period flags the 10-day-old key; an allowlist stops calls from elsewhere at once.
            let saved = try await browser.send(
                client,
                .post,
                "/cabinet/settings",
                form: ["csrf": csrf, "rotation_days": "7", "allowed_ips": "203.0.113.0/24\r\n2001:db8::/32"]
            )
            #expect(
                saved.status == .ok && String(buffer: saved.body).contains("Settings saved."),
                "\(saved.status) \(String(buffer: saved.body).components(separatedBy: "<main>").last ?? "")"
            )
            #expect(String(buffer: try await browser.send(client, .get, "/cabinet/keys?mode=test").body).contains("rotate: older than 7 days"))
            _ = try await client.call(.get, "/v1/auth/test", key: key.secret) { $0.expectProblem(.forbidden, "ip_not_allowed") }
            _ = try await browser.send(client, .post, "/cabinet/settings", form: ["csrf": csrf, "rotation_days": "7", "allowed_ips": ""])
            _ = try await client.call(.get, "/v1/auth/test", key: key.secret) { #expect($0.status == .ok) }

            // The webhook: an invalid URL is explained; a saved one shows its signing secret once.
            let badURL = try await browser.send(client, .post, "/cabinet/settings/webhook", form: ["csrf": csrf, "url": "ftp://x"])
            #expect(badURL.status == .badRequest)
            let hook = String(
                buffer: try await browser.send(client, .post, "/cabinet/settings/webhook", form: ["csrf": csrf, "url": "https://shop.example/hooks"])
                    .body
            )
            #expect(hook.contains(#"id="webhook-secret">whsec_"#))
            let later = String(buffer: try await browser.send(client, .get, "/cabinet/settings").body)
            #expect(later.contains("https://shop.example/hooks") && !later.contains("whsec_"))
            _ = try await browser.send(client, .post, "/cabinet/settings/webhook/delete", form: ["csrf": csrf])
            #expect(try await services.webhooks.endpoint(merchantID: merchant.id) == nil)
            let actions = try await services.audit.list(merchantID: merchant.id).map(\.action)
            #expect(
                actions.contains("settings.change") && actions.contains("webhook.set")
                    && actions.contains("webhook.remove")
            )
        }
    }

    /// An owner sets the merchant's limits and one key's own from the Settings page; the gateway applies
    /// them at once; another merchant's key id and a nonsense quota are refused with their reasons.
    @Test func rateLimitsAreSetFromTheSettingsPage() async throws {
        let clock = TestClock()
        let settings = Harness.settings()
        let services = try await Harness.services(settings, clock: clock.clock)
        let (email, password, merchant, totp) = try await CabinetKeyActionsTests.enrolled(services, role: .owner, clock: clock)
        let key = try await services.secretKeys.create(merchantID: merchant.id, mode: .test, options: .init(name: "backend"), by: .platformOperator)
        let stranger = try await Harness.tenant(services)
        // A later TOTP step than enrolment used (its code is spent), frozen mid-second so a burst is one window.
        let frozen = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down) + 60.25)
        let app = try await Harness.app(settings, clock: KeywardClock { frozen })
        _ = try await app.test(.router) { client in
            let browser = try await CabinetKeysTests.signIn(client, services, email: email, password: password, totp: totp, at: frozen)
            let page = String(buffer: try await browser.send(client, .get, "/cabinet/settings").body)
            #expect(page.contains(#"id="test_quota" name="test_quota" type="number" min="1" max="1000000" required value="1000000""#))
            let csrf = try #require(Browser.csrf(page))
            let bad = try await browser.send(
                client,
                .post,
                "/cabinet/settings/rate-limits",
                form: ["csrf": csrf, "live_quota": "100", "test_quota": "0"]
            )
            #expect(bad.status == .badRequest && String(buffer: bad.body).contains("1 to 1,000,000 requests"))
            let foreign = try await browser.send(
                client,
                .post,
                "/cabinet/settings/rate-limits/credential",
                form: ["csrf": csrf, "subject": stranger.testKey.info.id, "mode": "test", "quota": "1"]
            )
            #expect(foreign.status == .badRequest && String(buffer: foreign.body).contains("No credential with id"))
            let saved = try await browser.send(
                client,
                .post,
                "/cabinet/settings/rate-limits",
                form: ["csrf": csrf, "live_quota": "100", "test_quota": "3"]
            )
            #expect(saved.status == .ok && String(buffer: saved.body).contains("Rate limits saved."))
            let own = try await browser.send(
                client,
                .post,
                "/cabinet/settings/rate-limits/credential",
                form: ["csrf": csrf, "subject": key.info.id, "mode": "test", "quota": "1"]
            )
            #expect(String(buffer: own.body).contains("<code>\(key.info.id)</code></td><td>test</td><td>1 per 1 s"))
            _ = try await client.call(.get, "/v1/auth/test", key: key.secret) { #expect($0.status == .ok) }
            _ = try await client.call(.get, "/v1/auth/test", key: key.secret) { $0.expectProblem(.tooManyRequests, "rate_limited") }
            _ = try await browser.send(
                client,
                .post,
                "/cabinet/settings/rate-limits/remove",
                form: ["csrf": csrf, "subject": key.info.id, "mode": "test"]
            )
            // Its own limit is gone; the merchant's 3 a second still binds (2 used in this frozen second).
            _ = try await client.call(.get, "/v1/auth/test", key: key.secret) { #expect($0.status == .ok) }
            _ = try await client.call(.get, "/v1/auth/test", key: key.secret) { $0.expectProblem(.tooManyRequests, "rate_limited") }
            let actions = try await services.audit.list(merchantID: merchant.id).map(\.action)
            #expect(actions.contains("rate_limits.set") && actions.contains("rate_limit.remove"))
        }
    }

    @Test(arguments: [DefaultRole.developer, .finance, .viewer])
    func rolesWithoutSettingsWriteCannotOpenOrChangeSettings(role: DefaultRole) async throws {
        let settings = Harness.settings()
        let services = try await Harness.services(settings)
        let (email, password, merchant) = try await CabinetTests.member(services, role: role)
        let app = try await Harness.app(settings)
        _ = try await app.test(.router) { client in
            let browser = try await CabinetKeysTests.signIn(client, services, email: email, password: password, totp: nil, at: Date())
            let overview = String(buffer: try await browser.send(client, .get, "/cabinet").body)
            #expect(!overview.contains("/cabinet/settings"))
            #expect(try await browser.send(client, .get, "/cabinet/settings").status == .forbidden)
            let csrf = try #require(Browser.csrf(overview))
            let changed = try await browser.send(
                client,
                .post,
                "/cabinet/settings",
                form: ["csrf": csrf, "rotation_days": "30", "allowed_ips": "10.0.0.1"]
            )
            #expect(changed.status == .forbidden && String(buffer: changed.body).contains("settings.write"))
            #expect(
                try await browser.send(client, .post, "/cabinet/settings/webhook", form: ["csrf": csrf, "url": "https://evil.example"]).status
                    == .forbidden
            )
            #expect(try await services.merchantSettings.get(merchantID: merchant.id) == .defaults)
            #expect(try await services.webhooks.endpoint(merchantID: merchant.id) == nil)
        }
    }
}
