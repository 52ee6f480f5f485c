import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KeywardCore
import KeywardCrypto
import KeywardTestSupport
import Synchronization
import Testing

@testable import KeywardServer

/// The cabinet's sign-in: CSRF on every form, lockout messages, second factor owed before anything else,
/// enrolment with recovery codes, sign-out, the certificate banner, and escaping of what users typed.
@Suite(.closesStores) struct CabinetTests {
    /// A browser in miniature: keeps cookies, reads the hidden CSRF field.
    final class Browser: Sendable {
        let jar = Mutex<[String: String]>([:])
        var cookies: [String: String] { jar.withLock { $0 } }

        func send(
            _ client: some TestClientProtocol,
            _ method: HTTPRequest.Method,
            _ path: String,
            form: [String: String]? = nil,
            files: [(field: String, name: String, bytes: [UInt8])]? = nil,
            headers extra: HTTPFields = [:]
        ) async throws -> TestResponse {
            var headers = extra
            if !cookies.isEmpty { headers[.cookie] = cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; ") }
            var body: ByteBuffer?
            if let files {
                // multipart/form-data, as a browser sends a form with file inputs.
                let boundary = "----KeywardTestBoundary\(UUID().uuidString.prefix(8))"
                headers[.contentType] = "multipart/form-data; boundary=\(boundary)"
                var bytes: [UInt8] = []
                for (name, value) in form ?? [:] {
                    bytes += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8)
                }
                for file in files {
                    bytes += Array(
                        "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(file.field)\"; filename=\"\(file.name)\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                            .utf8
                    )
                    bytes += file.bytes + Array("\r\n".utf8)
                }
                bytes += Array("--\(boundary)--\r\n".utf8)
                body = ByteBuffer(bytes: bytes)
            } else if let form {
                headers[.contentType] = "application/x-www-form-urlencoded"
                var allowed = CharacterSet.alphanumerics
                allowed.insert(charactersIn: "-._~")
                body = ByteBuffer(
                    string: form.map { "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")" }.joined(separator: "&")
                )
            }
            let response = try await client.execute(uri: path, method: method, headers: headers, body: body) { $0 }
            for line in response.headers[values: .setCookie] {
                let pair = line.split(separator: ";")[0].split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let name = String(pair[0])
                let value = pair.count > 1 ? String(pair[1]) : ""
                jar.withLock { if value.isEmpty || line.contains("Max-Age=0") { $0[name] = nil } else { $0[name] = value } }
            }
            return response
        }

        static func csrf(_ html: String) -> String? {
            guard let range = html.range(of: #"name="csrf" value=""#) else { return nil }
            return String(html[range.upperBound...].prefix { $0 != "\"" })
        }
    }

    static func member(
        _ services: KeywardServices,
        role: DefaultRole,
        merchantName: String = "Shop"
    ) async throws -> (email: String, password: String, merchant: Merchant) {
        let merchant = try await services.merchants.create(name: merchantName)
        let email = "\(role.rawValue)-\(UUID().uuidString.prefix(8).lowercased())@shop.example"
        let (_, setup) = try await services.team.addMember(email: email, merchantID: merchant.id, role: .builtIn(role))
        _ = try await services.accounts.setPassword(token: try #require(setup).token, password: "a long cabinet passphrase")
        return (email, "a long cabinet passphrase", merchant)
    }

    @Test func signingInNeedsTheFormsOwnTokenAndSaysWhatWentWrong() async throws {
        let settings = Harness.settings()
        let services = try await Harness.services(settings)
        let (email, password, _) = try await Self.member(services, role: .developer, merchantName: "<b>Bold</b> & Co")
        let app = try await Harness.app(settings)
        _ = try await app.test(.router) { client in
            let browser = Browser()
            let anonymous = try await browser.send(client, .get, "/cabinet")
            #expect(anonymous.status == .seeOther || anonymous.status == .found)
            #expect(anonymous.headers[.location] == "/cabinet/login")

            let page = try await browser.send(client, .get, "/cabinet/login")
            #expect(page.status == .ok && page.headers[.contentType] == "text/html; charset=utf-8")
            #expect(
                page.headers[values: .setCookie].first?.contains("Secure") == true
                    && page.headers[values: .setCookie].first?.contains("SameSite=Strict") == true
            )
            #expect(page.headers[.contentSecurityPolicy]?.contains("frame-ancestors 'none'") == true)
            let csrf = try #require(Browser.csrf(String(buffer: page.body)))

            // A form posted from elsewhere (no matching token) is refused.
            let forged = try await Browser().send(client, .post, "/cabinet/login", form: ["email": email, "password": password, "csrf": csrf])
            #expect(forged.status == .forbidden)
            // Wrong password: the form again, with the reason and the email escaped.
            let wrong = try await browser.send(
                client,
                .post,
                "/cabinet/login",
                form: ["email": "<script>x</script>@shop.example", "password": "nope nope nope", "csrf": csrf]
            )
            #expect(wrong.status == .unauthorized)
            #expect(String(buffer: wrong.body).contains("Wrong email or password."))
            #expect(!String(buffer: wrong.body).contains("<script>x") && String(buffer: wrong.body).contains("&lt;script&gt;"))

            let csrf2 = try #require(Browser.csrf(String(buffer: wrong.body)))
            let signedIn = try await browser.send(client, .post, "/cabinet/login", form: ["email": email, "password": password, "csrf": csrf2])
            #expect(signedIn.headers[.location] == "/cabinet")
            #expect(browser.cookies["__Host-kw_session"]?.hasPrefix("kws_") == true)
            let overview = try await browser.send(client, .get, "/cabinet")
            #expect(overview.status == .ok)
            let html = String(buffer: overview.body)
            #expect(html.contains("&lt;b&gt;Bold&lt;/b&gt; &amp; Co") && !html.contains("<b>Bold</b>"), "merchant names are escaped")
            #expect(html.contains("Developer"))

            // Sign-out needs the session's CSRF token; then the cookie no longer opens anything.
            let refused = try await browser.send(client, .post, "/cabinet/logout", form: ["csrf": "forged"])
            #expect(refused.status == .forbidden)
            let out = try await browser.send(client, .post, "/cabinet/logout", form: ["csrf": try #require(Browser.csrf(html))])
            #expect(out.headers[.location] == "/cabinet/login")
            #expect(try await browser.send(client, .get, "/cabinet").headers[.location] == "/cabinet/login")
        }
    }

    @Test func theSetupLinkSetsAPasswordOnce() async throws {
        let settings = Harness.settings()
        let services = try await Harness.services(settings)
        let merchant = try await services.merchants.create(name: "Shop")
        let email = "new-\(UUID().uuidString.prefix(8).lowercased())@shop.example"
        let (_, setup) = try await services.team.addMember(email: email, merchantID: merchant.id, role: .builtIn(.viewer))
        let token = try #require(setup).token
        let app = try await Harness.app(settings)
        _ = try await app.test(.router) { client in
            let browser = Browser()
            let page = try await browser.send(client, .get, "/cabinet/setup?token=\(token)")
            let csrf = try #require(Browser.csrf(String(buffer: page.body)))
            let weak = try await browser.send(client, .post, "/cabinet/setup", form: ["token": token, "password": "short", "csrf": csrf])
            #expect(weak.status == .badRequest && String(buffer: weak.body).contains("12 to 256 characters"))
            let csrf2 = try #require(Browser.csrf(String(buffer: weak.body)))
            let saved = try await browser.send(
                client,
                .post,
                "/cabinet/setup",
                form: ["token": token, "password": "my new cabinet passphrase", "csrf": csrf2]
            )
            #expect(saved.headers[.location] == "/cabinet/login")
            let again = try await browser.send(client, .get, "/cabinet/setup?token=\(token)")
            let reused = try await browser.send(
                client,
                .post,
                "/cabinet/setup",
                form: [
                    "token": token, "password": "another passphrase here",
                    "csrf": try #require(Browser.csrf(String(buffer: again.body))),
                ]
            )
            #expect(reused.status == .badRequest && String(buffer: reused.body).contains("not valid"))
        }
        #expect(try await services.accounts.login(email: email, password: "my new cabinet passphrase", address: "192.0.2.1").email == email)
    }

    @Test func aResetLinkSetsANewPasswordOnceAndEndsEverySession() async throws {
        let clock = TestClock()
        let settings = Harness.settings()
        let services = try await Harness.services(settings, clock: clock.clock)
        let (email, password, _) = try await Self.member(services, role: .developer)
        let app = try await Harness.app(settings, clock: clock.clock)
        _ = try await app.test(.router) { client in
            let signedIn = try await CabinetKeysTests.signIn(client, services, email: email, password: password, totp: nil, at: clock.clock.now())
            #expect(try await signedIn.send(client, .get, "/cabinet").status == .ok)
            // The login page links to the explanation (no mail transport: an operator issues the link).
            let login = String(buffer: try await Browser().send(client, .get, "/cabinet/login").body)
            #expect(login.contains("/cabinet/forgot"))
            #expect(String(buffer: try await Browser().send(client, .get, "/cabinet/forgot").body).contains("keyward user reset --email"))
            #expect(try await services.accounts.requestPasswordReset(email: "nobody@shop.example") == nil)
            let link = try #require(try await services.accounts.requestPasswordReset(email: email))

            let browser = Browser()
            let page = try await browser.send(client, .get, "/cabinet/reset?token=\(link.token)")
            let csrf = try #require(Browser.csrf(String(buffer: page.body)))
            let forged = try await Browser().send(
                client,
                .post,
                "/cabinet/reset",
                form: ["token": link.token, "password": "a brand new passphrase", "csrf": csrf]
            )
            #expect(forged.status == .forbidden)
            let weak = try await browser.send(client, .post, "/cabinet/reset", form: ["token": link.token, "password": "short", "csrf": csrf])
            #expect(weak.status == .badRequest)
            let saved = try await browser.send(
                client,
                .post,
                "/cabinet/reset",
                form: [
                    "token": link.token, "password": "a brand new passphrase",
                    "csrf": try #require(Browser.csrf(String(buffer: weak.body))),
                ]
            )
            #expect(saved.headers[.location] == "/cabinet/login")
            // The old session is over; the old password no longer works; the link works once.
            #expect(try await signedIn.send(client, .get, "/cabinet").headers[.location] == "/cabinet/login")
            await #expect(throws: KeywardError.self) { try await services.accounts.login(email: email, password: password, address: "192.0.2.1") }
            #expect(try await services.accounts.login(email: email, password: "a brand new passphrase", address: "192.0.2.1").email == email)
            let again = try await browser.send(client, .get, "/cabinet/reset?token=\(link.token)")
            let reused = try await browser.send(
                client,
                .post,
                "/cabinet/reset",
                form: [
                    "token": link.token, "password": "yet another passphrase",
                    "csrf": try #require(Browser.csrf(String(buffer: again.body))),
                ]
            )
            #expect(reused.status == .badRequest && String(buffer: reused.body).contains("not valid"))
            // An expired link is refused the same way.
            let late = try #require(try await services.accounts.requestPasswordReset(email: email))
            clock.advance(AccountService.resetLinkLifetime + 1)
            let expiredPage = try await browser.send(client, .get, "/cabinet/reset?token=\(late.token)")
            let expired = try await browser.send(
                client,
                .post,
                "/cabinet/reset",
                form: [
                    "token": late.token, "password": "yet another passphrase",
                    "csrf": try #require(Browser.csrf(String(buffer: expiredPage.body))),
                ]
            )
            #expect(expired.status == .badRequest)
        }
    }

    @Test func anOwnerMustEnrolASecondFactorAndThenGiveItAtEverySignIn() async throws {
        let clock = TestClock()
        let settings = Harness.settings()
        let services = try await Harness.services(settings, clock: clock.clock)
        let (email, password, merchant) = try await Self.member(services, role: .owner)
        // A certificate 10 days from expiry puts the banner on every page.
        let pki = try TestPKI()
        try pki.issue("soon", cn: "soon.shop.example", by: "inter", ext: "leaf.ext", days: 10)
        _ = try await services.certificates.upload(
            merchantID: merchant.id,
            mode: .live,
            type: .ssl,
            name: "Checkout TLS",
            files: [try pki.bytes("soon.crt"), try pki.bytes("inter.crt"), try pki.bytes("soon.key")]
        )
        let app = try await Harness.app(settings, clock: clock.clock)
        _ = try await app.test(.router) { client in
            let browser = Browser()
            let login = try await browser.send(client, .get, "/cabinet/login")
            _ = try await browser.send(
                client,
                .post,
                "/cabinet/login",
                form: ["email": email, "password": password, "csrf": try #require(Browser.csrf(String(buffer: login.body)))]
            )
            // Nothing but enrolment until a second factor is on.
            #expect(try await browser.send(client, .get, "/cabinet").headers[.location] == "/cabinet/2fa/setup")
            let setup = try await browser.send(client, .get, "/cabinet/2fa/setup")
            let html = String(buffer: setup.body)
            let secret = try #require(html.range(of: "<code id=\"totp-secret\">").map { String(html[$0.upperBound...].prefix { $0 != "<" }) })
            #expect(html.contains("otpauth://totp/Keyward:"))
            let totp = TOTP(secret: try #require(Base32.decode(secret)))
            let csrf = try #require(Browser.csrf(html))
            // A mistyped code: the reason, and the same secret (what the phone scanned still counts).
            let wrongCode = totp.code(at: clock.clock.now()) == "000000" ? "111111" : "000000"
            let mistyped = try await browser.send(client, .post, "/cabinet/2fa/setup", form: ["code": wrongCode, "csrf": csrf])
            #expect(mistyped.status == .badRequest && String(buffer: mistyped.body).contains("does not match"))
            #expect(String(buffer: mistyped.body).contains(secret))
            let enrolledAt = clock.clock.now()  // fixed: the replay below must reuse this very code
            let codes = try await browser.send(client, .post, "/cabinet/2fa/setup", form: ["code": totp.code(at: enrolledAt), "csrf": csrf])
            #expect(String(buffer: codes.body).components(separatedBy: "<li>").count == 11, "ten recovery codes, shown once")
            let overview = try await browser.send(client, .get, "/cabinet")
            #expect(overview.status == .ok)
            #expect(String(buffer: overview.body).contains("1 certificate expires within 14 days"))
            #expect(String(buffer: overview.body).contains("Checkout TLS"))

            // The next sign-in asks for a code; a wrong or replayed one is refused.
            let other = Browser()
            let page = try await other.send(client, .get, "/cabinet/login")
            _ = try await other.send(
                client,
                .post,
                "/cabinet/login",
                form: ["email": email, "password": password, "csrf": try #require(Browser.csrf(String(buffer: page.body)))]
            )
            #expect(try await other.send(client, .get, "/cabinet").headers[.location] == "/cabinet/2fa")
            let prompt = try await other.send(client, .get, "/cabinet/2fa")
            let sessionCSRF = try #require(Browser.csrf(String(buffer: prompt.body)))
            let replay = try await other.send(client, .post, "/cabinet/2fa", form: ["code": totp.code(at: enrolledAt), "csrf": sessionCSRF])
            #expect(replay.status == .unauthorized)
            clock.advance(30)
            let accepted = try await other.send(client, .post, "/cabinet/2fa", form: ["code": totp.code(at: clock.clock.now()), "csrf": sessionCSRF])
            #expect(accepted.headers[.location] == "/cabinet")
            #expect(try await other.send(client, .get, "/cabinet").status == .ok)
        }
    }
}

/// The cabinet's own date formatting against Foundation's, over four centuries of days.
struct CabinetDateTests {
    @Test func civilDatesMatchFoundation() {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        for seconds in stride(from: -2_208_988_800.0, to: 10_413_792_000, by: 86_400 * 7 + 3_671) {
            let date = Date(timeIntervalSince1970: seconds)
            let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: date)
            let expected = String(format: "%04d-%02d-%02d %02d:%02d UTC", parts.year!, parts.month!, parts.day!, parts.hour!, parts.minute!)
            #expect(CabinetDates.minute(date) == expected)
        }
    }
}

/// What goes into cabinet HTML outside the template engine is escaped the same way.
struct HTMLEscapeTests {
    @Test func markupAndQuotesAreEscapedAndPlainTextIsLeftAlone() {
        #expect(HTML.escape(#"<a href="x">'Tom' & Jerry</a>"#) == "&lt;a href=&quot;x&quot;&gt;&#39;Tom&#39; &amp; Jerry&lt;/a&gt;")
        #expect(HTML.escape("plain text, ünïcode ✓") == "plain text, ünïcode ✓")
    }
}
