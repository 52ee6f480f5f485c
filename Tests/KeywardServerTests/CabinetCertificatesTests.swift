import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KeywardCore
import KeywardServer
import KeywardTestSupport
import Testing

/// The Certificates page: badges, the SVG timeline, uploads refused with their reasons (nothing stored)
/// or stored, and roles without certificates.write see no form and cannot post one.
@Suite(.closesStores) struct CabinetCertificatesTests {
    typealias Browser = CabinetTests.Browser

    @Test func uploadsAreExplainedAndTheTimelineShowsEachCertificate() async throws {
        let pki = try TestPKI()
        try pki.issue("soon", cn: "soon.shop.example", by: "inter", ext: "leaf.ext", days: 10)
        let settings = Harness.settings()
        let services = try await Harness.services(settings)
        let (email, password, merchant) = try await CabinetTests.member(services, role: .developer)
        let app = try await Harness.app(settings)
        _ = try await app.test(.router) { client in
            let browser = try await CabinetKeysTests.signIn(client, services, email: email, password: password, totp: nil, at: Date())
            let empty = try await browser.send(client, .get, "/cabinet/certificates")
            let csrf = try #require(Browser.csrf(String(buffer: empty.body)))
            #expect(String(buffer: empty.body).contains("No certificates yet."))
            // A key that does not match: refused with its reason, nothing stored.
            try pki.ecKey("stranger")
            let refused = try await browser.send(
                client,
                .post,
                "/cabinet/certificates",
                form: ["mode": "test", "pem": try pki.read("soon.crt") + pki.read("stranger.key"), "csrf": csrf]
            )
            #expect(refused.status == .badRequest && String(buffer: refused.body).contains("key_mismatch"))
            #expect(try await services.certificates.list(merchantID: merchant.id, mode: .test).isEmpty)
            // Live mode needs keys.live, which a developer lacks.
            let live = try await browser.send(
                client,
                .post,
                "/cabinet/certificates",
                form: ["mode": "live", "pem": try pki.read("soon.crt") + pki.read("inter.crt") + pki.read("soon.key"), "csrf": csrf]
            )
            #expect(live.status == .forbidden)
            let stored = try await browser.send(
                client,
                .post,
                "/cabinet/certificates",
                form: ["mode": "test", "pem": try pki.read("soon.crt") + pki.read("inter.crt") + pki.read("soon.key"), "csrf": csrf]
            )
            #expect(stored.headers[.location] == "/cabinet/certificates")
            let page = String(buffer: try await browser.send(client, .get, "/cabinet/certificates").body)
            #expect(page.contains("<svg role=\"img\"") && page.contains(": critical, 9 days left</title>"))
            #expect(page.contains("badge-critical") && page.contains("1 certificate expires within 14 days"))
        }
        // A viewer sees the list but no upload form, and a forged post is refused.
        let viewer = try await services.team.addMember(
            email: "viewer-\(UUID().uuidString.prefix(6).lowercased())@shop.example",
            merchantID: merchant.id,
            role: .builtIn(.viewer)
        )
        _ = try await services.accounts.setPassword(token: try #require(viewer.setup).token, password: "a viewer's passphrase")
        _ = try await Harness.app(settings).test(.router) { client in
            let browser = try await CabinetKeysTests.signIn(
                client,
                services,
                email: viewer.user.email,
                password: "a viewer's passphrase",
                totp: nil,
                at: Date()
            )
            let page = try await browser.send(client, .get, "/cabinet/certificates")
            #expect(page.status == .ok && !String(buffer: page.body).contains("<h2>Upload</h2>"))
            let csrf = try #require(Browser.csrf(String(buffer: page.body)))
            #expect(
                try await browser.send(client, .post, "/cabinet/certificates", form: ["mode": "test", "pem": "x", "csrf": csrf]).status == .forbidden
            )
        }
    }
}
