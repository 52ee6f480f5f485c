import Foundation
import Hummingbird
import HummingbirdTesting
import KeywardCore
import KeywardServer
import KeywardTestSupport
import Testing

/// The cabinet in a real browser: headless Chromium driven by selenium (`Tests/peers/cabinet_browser.py`)
/// against a live HTTPS server. A new owner signs in with TOTP codes from pyotp, generates a key (seen
/// once), revokes it after confirming, uploads a certificate, invites a member with a custom role, and
/// the member cannot reach what the role lacks. Screenshots of the main pages: `.build/screenshots/cabinet`.
@Suite(.closesStores) struct BrowserTests {
    @Test func aNewMerchantDoesEverythingFromTheBrowserAndEachRoleSeesOnlyWhatItMay() async throws {
        // A database of its own: a live server runs the certificate worker, which must not touch other tests' channels.
        let settings = try Harness.isolatedSettings()
        let services = try await Harness.services(settings)
        let merchant = try await services.merchants.create(name: "Browser Shop")
        let email = "owner@browser.example"
        let (_, setup) = try await services.team.addMember(email: email, merchantID: merchant.id, role: .builtIn(.owner))
        let token = try #require(setup).token
        await services.store.shutdown()
        let app = try await Harness.app(settings)
        try await app.test(.live) { client in
            let base = "https://localhost:\(try #require(client.port))"
            // On a thread of its own: the browser waits for our server, which needs the cooperative threads.
            let output = try await Shell.runDetached(
                "/usr/bin/env",
                [
                    "python3", Peers.cabinetBrowser, base,
                    "\(base)/cabinet/setup?token=\(token)", email, Peers.screenshots + "/cabinet",
                ]
            )
            let report = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])
            #expect(report["failed"] == nil)
            #expect((report["checks"] as? [String])?.count ?? 0 >= 42)
        }
        let reopened = try await Harness.services(settings)
        let actions = try await reopened.audit.list(merchantID: merchant.id).map(\.action)
        for action in [
            "secret_key.create", "secret_key.revoke", "certificate.upload", "role.create Auditor",
            "member.invite Auditor", "invitation.accept",
        ] {
            #expect(actions.contains(action), "\(action)")
        }
    }
}
