import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KeywardCore
import KeywardCrypto
import KeywardServer
import KeywardTestSupport
import Testing

/// Certificates from the cabinet beyond the list: files uploaded as a browser sends them (multipart),
/// sales channels (uploaded or ACME-managed, with their progress page), and the Apple Pay CSR flow
/// with openssl playing Apple.
@Suite(.closesStores) struct CabinetCertificateFlowsTests {
    typealias Browser = CabinetTests.Browser

    static func signedInDeveloper(_ services: KeywardServices, _ client: some TestClientProtocol) async throws -> (Browser, String, Merchant) {
        let (email, password, merchant) = try await CabinetTests.member(services, role: .developer)
        let browser = try await CabinetKeysTests.signIn(client, services, email: email, password: password, totp: nil, at: Date())
        let csrf = try #require(Browser.csrf(String(buffer: try await browser.send(client, .get, "/cabinet/certificates").body)))
        return (browser, csrf, merchant)
    }

    @Test func filesAreUploadedAndChannelsUseThemOrACME() async throws {
        let pki = try TestPKI()
        try pki.keys.openssl(["x509", "-in", pki.path("inter.crt"), "-outform", "DER", "-out", pki.path("inter.der")])
        // A database of its own: a managed channel is due at once, and another test's live server would order it.
        let settings = try Harness.isolatedSettings()
        let services = try await Harness.services(settings)
        let app = try await Harness.app(settings)
        _ = try await app.test(.router) { client in
            let (browser, csrf, merchant) = try await Self.signedInDeveloper(services, client)
            // Nothing chosen: the reason. A broken multipart body: the reason, never a 500.
            let empty = try await browser.send(client, .post, "/cabinet/certificates", form: ["csrf": csrf, "mode": "test"], files: [])
            #expect(empty.status == .badRequest && String(buffer: empty.body).contains("Choose the certificate"))
            // Three files in three formats and any order: leaf PEM, key PEM, intermediate DER.
            let uploaded = try await browser.send(
                client,
                .post,
                "/cabinet/certificates",
                form: ["csrf": csrf, "mode": "test"],
                files: [
                    ("files", "inter.der", try pki.bytes("inter.der")), ("files", "leaf.key", try pki.bytes("leaf.key")),
                    ("files", "leaf.crt", try pki.bytes("leaf.crt")),
                ]
            )
            #expect(uploaded.status == .seeOther, "\(String(buffer: uploaded.body).prefix(2000))")
            let certificate = try #require(try await services.certificates.list(merchantID: merchant.id, mode: .test, limit: 10).first)
            #expect(certificate.names.contains("shop.example"))

            // A channel on that certificate: active at once; its domain cannot be taken twice.
            let page = String(buffer: try await browser.send(client, .get, "/cabinet/channels/new").body)
            #expect(page.contains(#"<option value="\#(certificate.id)">"#))
            let created = try await browser.send(
                client,
                .post,
                "/cabinet/channels",
                form: [
                    "csrf": csrf, "mode": "test", "name": "Web <shop>", "domains": "shop.example\nwww.shop.example", "ssl_mode": "uploaded",
                    "certificate_id": certificate.id,
                ]
            )
            let location = try #require(created.headers[.location])
            let createdID = try #require(location.split(separator: "/").last?.split(separator: "?").first.map(String.init))
            // Pending until its domains are verified: the page says what to publish and offers a check.
            let waiting = String(buffer: try await browser.send(client, .get, location).body)
            let token = try #require(try await services.domainVerifications.records(merchantID: merchant.id, domains: ["shop.example"]).first?.token)
            #expect(
                waiting.contains("Web &lt;shop&gt;") && waiting.contains("<strong>pending</strong>")
                    && waiting.contains("<code>_keyward-challenge.shop.example</code>")
                    && waiting.contains("<code>\(token)</code>")
                    && waiting.contains("http://shop.example/.well-known/keyward-domain-verification/\(token)")
                    && waiting.contains("Check now")
            )
            let check = try await browser.send(client, .post, "/cabinet/channels/\(createdID)/verify", form: ["csrf": csrf, "mode": "test"])
            #expect(check.status == .seeOther)
            let checked = String(buffer: try await browser.send(client, .get, location).body)
            #expect(
                checked.contains("badge-critical\">failed</strong>") && checked.contains("verification_dns_resolver"),
                "the check's reason is shown"
            )
            _ = try await services.domainVerifications.force(channelID: createdID, actor: AuditActor(type: "operator", id: "test"))
            let channelPage = String(buffer: try await browser.send(client, .get, location).body)
            #expect(
                channelPage.contains("<strong>active</strong>") && channelPage.contains("badge-ok\">verified</strong> (operator)")
                    && !channelPage.contains("http-equiv=\"refresh\"")
            )
            let taken = try await browser.send(
                client,
                .post,
                "/cabinet/channels",
                form: ["csrf": csrf, "mode": "test", "name": "Again", "domains": "shop.example", "ssl_mode": "managed"]
            )
            #expect(
                taken.status == .badRequest && String(buffer: taken.body).contains("domain_taken")
                    && String(buffer: taken.body).contains("New sales channel")
            )

            // A managed channel waits for its domain's verification (no self-refresh: nothing runs), then
            // for its first order: its page refreshes itself to show progress.
            let managed = try await browser.send(
                client,
                .post,
                "/cabinet/channels",
                form: ["csrf": csrf, "mode": "test", "name": "Pay", "domains": "pay.example", "ssl_mode": "managed"]
            )
            let managedLocation = try #require(managed.headers[.location])
            let channelID = try #require(managedLocation.split(separator: "/").last?.split(separator: "?").first.map(String.init))
            let unverified = String(buffer: try await browser.send(client, .get, managedLocation).body)
            #expect(
                unverified.contains("<strong>pending</strong>") && unverified.contains("Waiting for domain verification")
                    && !unverified.contains("http-equiv=\"refresh\"")
            )
            _ = try await services.domainVerifications.force(channelID: channelID, actor: AuditActor(type: "operator", id: "test"))
            let progress = String(buffer: try await browser.send(client, .get, managedLocation).body)
            #expect(progress.contains("<strong>pending</strong>") && progress.contains(#"<meta http-equiv="refresh" content="5">"#))
            let renew = try await browser.send(client, .post, "/cabinet/channels/\(channelID)/renew", form: ["csrf": csrf, "mode": "test"])
            #expect(renew.status == .seeOther)
            #expect(try await services.channels.events(channelID: channelID).contains { $0.kind == "renewal_requested" })
            let list = String(buffer: try await browser.send(client, .get, "/cabinet/certificates").body)
            #expect(list.contains("pay.example") && list.contains("ACME (managed)"))
            // Another merchant's channel id leads nowhere.
            let other = try await services.merchants.create(name: "Other")
            let theirs = try await services.channels.create(
                merchantID: other.id,
                mode: .test,
                name: "Theirs",
                domains: ["their.example"],
                sslMode: .managed,
                certificateID: nil
            )
            #expect(try await browser.send(client, .get, "/cabinet/channels/\(theirs.id)?mode=test").status == .notFound)
        }
    }

    @Test func anApplePayCertificateIsRequestedSignedByAppleAndStoredForItsKeyOnly() async throws {
        let pki = try TestPKI()
        let settings = Harness.settings()
        let services = try await Harness.services(settings)
        let app = try await Harness.app(settings)
        _ = try await app.test(.router) { client in
            let (browser, csrf, merchant) = try await Self.signedInDeveloper(services, client)
            let created = try await browser.send(
                client,
                .post,
                "/cabinet/apple-pay/requests",
                form: [
                    "csrf": csrf, "mode": "test", "type": "apple_pay_payment_processing", "name": "merchant.com.shop",
                ]
            )
            let location = try #require(created.headers[.location])
            let page = String(buffer: try await browser.send(client, .get, location).body)
            #expect(page.contains(".certSigningRequest") && !page.contains("PRIVATE KEY"))
            let csr = try #require(page.range(of: #"<code id="csr">"#).map { String(page[$0.upperBound...].prefix { $0 != "<" }) })
            try pki.write("apple.csr", csr)
            #expect(try pki.keys.openssl(["req", "-in", pki.path("apple.csr"), "-verify", "-noout", "-text"]).contains("prime256v1"))
            try pki.write("apple.ext", "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n")
            try pki.keys.openssl([
                "x509", "-req", "-in", pki.path("apple.csr"), "-CA", pki.path("inter.crt"), "-CAkey", pki.path("inter.key"), "-CAcreateserial",
                "-days", "825", "-extfile", pki.path("apple.ext"), "-outform", "DER", "-out", pki.path("apple.cer"),
            ])
            try pki.keys.openssl(["x509", "-in", pki.path("leaf.crt"), "-outform", "DER", "-out", pki.path("other.cer")])
            let id = try #require(location.split(separator: "/").last?.split(separator: "?").first.map(String.init))
            let action = "/cabinet/apple-pay/requests/\(id)/certificate"

            let wrong = try await browser.send(
                client,
                .post,
                action,
                form: ["csrf": csrf, "mode": "test"],
                files: [("certificate", "other.cer", try pki.bytes("other.cer"))]
            )
            #expect(wrong.status == .badRequest && String(buffer: wrong.body).contains("certificate_not_for_this_request"))
            let accepted = try await browser.send(
                client,
                .post,
                action,
                form: ["csrf": csrf, "mode": "test"],
                files: [("certificate", "apple.cer", try pki.bytes("apple.cer"))]
            )
            #expect(accepted.headers[.location] == "/cabinet/certificates", "\(String(buffer: accepted.body).prefix(1500))")
            let stored = try await services.certificates.list(merchantID: merchant.id, mode: .test, limit: 10)
            #expect(stored.contains { $0.type == .applePayPaymentProcessing })
            #expect(String(buffer: try await browser.send(client, .get, "/cabinet/certificates").body).contains("certificate stored"))
            let again = try await browser.send(
                client,
                .post,
                action,
                form: ["csrf": csrf, "mode": "test"],
                files: [("certificate", "apple.cer", try pki.bytes("apple.cer"))]
            )
            #expect(again.status == .badRequest && String(buffer: again.body).contains("request_completed"))
        }
    }
}
