import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KeywardCore
import KeywardCrypto
import KeywardServer
import KeywardTestSupport
import Testing

/// The Keys page: generate (shown once), revoke, stale keys flagged, and the role x route matrix (the
/// same permission check as the API: nothing a role lacks is reachable).
@Suite(.closesStores) struct CabinetKeysTests {
    typealias Browser = CabinetTests.Browser

    /// Signs `member` in (with a TOTP code when their role needs one) and returns the browser.
    static func signIn(
        _ client: some TestClientProtocol,
        _ services: KeywardServices,
        email: String,
        password: String,
        totp: TOTP?,
        at now: Date
    ) async throws -> Browser {
        let browser = Browser()
        let login = try await browser.send(client, .get, "/cabinet/login")
        _ = try await browser.send(
            client,
            .post,
            "/cabinet/login",
            form: ["email": email, "password": password, "csrf": try #require(Browser.csrf(String(buffer: login.body)))]
        )
        if let totp {
            let prompt = try await browser.send(client, .get, "/cabinet/2fa")
            let answer = try await browser.send(
                client,
                .post,
                "/cabinet/2fa",
                form: ["code": totp.code(at: now), "csrf": try #require(Browser.csrf(String(buffer: prompt.body)))]
            )
            #expect(answer.headers[.location] == "/cabinet")
        }
        return browser
    }

    @Test func aKeyIsShownOnceThenListedFlaggedAndRevoked() async throws {
        let clock = TestClock()
        let settings = Harness.settings()
        let services = try await Harness.services(settings, clock: clock.clock)
        let (email, password, merchant) = try await CabinetTests.member(services, role: .developer)
        let old = try await services.secretKeys.create(merchantID: merchant.id, mode: .test, options: .init(name: "<old> key"), by: .platformOperator)
        clock.advance(91 * 86400)
        let app = try await Harness.app(settings, clock: clock.clock)
        _ = try await app.test(.router) { client in
            let browser = try await Self.signIn(client, services, email: email, password: password, totp: nil, at: clock.clock.now())
            let page = try await browser.send(client, .get, "/cabinet/keys?mode=test")
            var html = String(buffer: page.body)
            #expect(html.contains("&lt;old&gt; key") && html.contains("rotate: older than 90 days"))
            #expect(!html.contains(old.secret))
            let csrf = try #require(Browser.csrf(html))
            // A Developer's key carries what they choose from their role (never more: see ScopeEscapeTests).
            let created = try await browser.send(
                client,
                .post,
                "/cabinet/keys",
                form: ["name": "checkout", "mode": "test", "csrf": csrf, "access": "restricted", "scopes": "payments.write"]
            )
            #expect(created.status == .created)
            let secret = try #require(
                String(buffer: created.body).range(of: #"<code id="secret">"#).map {
                    String(String(buffer: created.body)[$0.upperBound...].prefix { $0 != "<" })
                }
            )
            #expect(secret.hasPrefix("kw_test_"))
            // The key works at once; the list shows only its last four characters.
            _ = try await client.call(.get, "/v1/auth/test", key: secret) { #expect($0.status == .ok) }
            html = String(buffer: try await browser.send(client, .get, "/cabinet/keys?mode=test").body)
            #expect(!html.contains(secret) && html.contains(String(secret.suffix(4))))
            let revoked = try await browser.send(client, .post, "/cabinet/keys/\(old.info.id)/revoke", form: ["mode": "test", "csrf": csrf])
            #expect(revoked.headers[.location] == "/cabinet/keys?mode=test")
            _ = try await client.call(.get, "/v1/auth/test", key: old.secret) { $0.expectProblem(.unauthorized, "key_revoked") }
            // Another merchant's key id is not found, and nothing changes.
            let other = try await services.merchants.create(name: "Other")
            let foreign = try await services.secretKeys.create(
                merchantID: other.id,
                mode: .test,
                options: .init(name: "theirs"),
                by: .platformOperator
            )
            let refused = try await browser.send(client, .post, "/cabinet/keys/\(foreign.info.id)/revoke", form: ["mode": "test", "csrf": csrf])
            #expect(refused.status == .notFound)
            _ = try await client.call(.get, "/v1/auth/test", key: foreign.secret) { #expect($0.status == .ok) }
            let actions = try await services.audit.list(merchantID: merchant.id).map(\.action)
            #expect(actions.contains("secret_key.create") && actions.contains("secret_key.revoke"))
        }
    }

    /// What each role reaches: (read test, read live, create test, create live).
    @Test(arguments: [
        (DefaultRole.viewer, [true, false, false, false]),
        (.finance, [true, false, false, false]),
        (.developer, [true, false, true, false]),
        (.administrator, [true, true, true, true]),
    ])
    func rolesReachOnlyWhatTheyMayOnTheKeysPage(role: DefaultRole, expected: [Bool]) async throws {
        let clock = TestClock()
        let settings = Harness.settings()
        let services = try await Harness.services(settings, clock: clock.clock)
        let (email, password, _) = try await CabinetTests.member(services, role: role)
        var totp: TOTP?
        if MemberRole.builtIn(role).requiresSecondFactor {
            let userID = try await services.accounts.login(email: email, password: password, address: "192.0.2.1").id
            let (secret, _) = try await services.accounts.beginTOTP(userID: userID)
            totp = TOTP(secret: try #require(Base32.decode(secret)))
            _ = try await services.accounts.confirmTOTP(userID: userID, code: try #require(totp).code(at: clock.clock.now()))
            clock.advance(30)
        }
        let app = try await Harness.app(settings, clock: clock.clock)
        let signInTOTP = totp
        _ = try await app.test(.router) { client in
            let browser = try await Self.signIn(client, services, email: email, password: password, totp: signInTOTP, at: clock.clock.now())
            let readTest = try await browser.send(client, .get, "/cabinet/keys?mode=test")
            let csrf = Browser.csrf(String(buffer: readTest.body)) ?? ""
            let readLive = try await browser.send(client, .get, "/cabinet/keys?mode=live")
            let restricted = ["name": "x", "csrf": csrf, "access": "restricted", "permission.keys.read": "on"]
            let createTest = try await browser.send(client, .post, "/cabinet/keys", form: restricted.merging(["mode": "test"]) { a, _ in a })
            let createLive = try await browser.send(client, .post, "/cabinet/keys", form: restricted.merging(["mode": "live"]) { a, _ in a })
            let reached = [readTest.status == .ok, readLive.status == .ok, createTest.status == .created, createLive.status == .created]
            #expect(reached == expected, "\(role)")
            for (response, allowed) in zip([readTest, readLive, createTest, createLive], expected) where !allowed {
                #expect(response.status == .forbidden && String(buffer: response.body).contains("lacks"))
            }
        }
    }
}
