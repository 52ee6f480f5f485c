import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KeywardCore
import KeywardCrypto
import KeywardServer
import KeywardTestSupport
import Testing

/// What the cabinet does with bad input: a clear page with the reason and the right status, never a
/// 500, a leak, or a change to someone else's objects.
@Suite(.closesStores) struct CabinetBadInputTests {
    typealias Browser = CabinetTests.Browser

    @Test func expiredInvitationsOversizedFormsAndUnknownPagesGetClearAnswers() async throws {
        let clock = TestClock()
        let settings = Harness.settings()
        let services = try await Harness.services(settings, clock: clock.clock)
        let (email, password, merchant) = try await CabinetTests.member(services, role: .developer)
        let invitation = try await services.team.invite(email: "late@shop.example", merchantID: merchant.id, role: .builtIn(.viewer))
        clock.advance(TeamService.invitationLifetime + 1)
        let app = try await Harness.app(settings, clock: clock.clock)
        _ = try await app.test(.router) { client in
            let guest = Browser()
            // An expired invitation says so at once and offers no form to fill.
            let page = try await guest.send(client, .get, "/cabinet/invite?token=\(invitation.token)")
            #expect(
                page.status == .badRequest && String(buffer: page.body).contains("not valid")
                    && !String(buffer: page.body).contains("name=\"password\"")
            )
            #expect(try await services.team.members(merchantID: merchant.id).count == 1)

            let browser = try await CabinetKeysTests.signIn(client, services, email: email, password: password, totp: nil, at: clock.clock.now())
            let csrf = try #require(Browser.csrf(String(buffer: try await browser.send(client, .get, "/cabinet").body)))
            // A form beyond 64 KiB, an upload beyond 1 MiB: 413 pages.
            let huge = try await browser.send(
                client,
                .post,
                "/cabinet/keys",
                form: ["csrf": csrf, "mode": "test", "name": String(repeating: "x", count: 70_000)]
            )
            #expect(huge.status == .contentTooLarge && huge.headers[.contentType] == "text/html; charset=utf-8")
            let bigUpload = try await browser.send(
                client,
                .post,
                "/cabinet/certificates",
                form: ["csrf": csrf, "mode": "test"],
                files: [("files", "big.pem", [UInt8](repeating: 0x41, count: 1_100_000))]
            )
            #expect(bigUpload.status == .contentTooLarge && String(buffer: bigUpload.body).contains("larger than the cabinet accepts"))
            #expect(try await services.secretKeys.list(merchantID: merchant.id, mode: .test).isEmpty)
            // A name beyond 200 characters: the rule, not a 500.
            let long = try await browser.send(
                client,
                .post,
                "/cabinet/keys",
                form: ["csrf": csrf, "mode": "test", "name": String(repeating: "x", count: 201)]
            )
            #expect(long.status == .badRequest && String(buffer: long.body).contains("at most 200 characters"))
            let badMode = try await browser.send(client, .get, "/cabinet/keys?mode=staging")
            #expect(badMode.status == .badRequest && String(buffer: badMode.body).contains("test or live"))
            // Unknown pages are HTML 404s; the navigation stays.
            let missing = try await browser.send(client, .get, "/cabinet/nowhere")
            #expect(missing.status == .notFound && String(buffer: missing.body).contains("aria-label=\"Main\""))
        }
    }

    @Test func anotherMerchantsObjectsCannotBeReachedFromTheCabinet() async throws {
        let clock = TestClock()
        let settings = Harness.settings()
        let services = try await Harness.services(settings, clock: clock.clock)
        let (email, password, _, totp) = try await CabinetKeyActionsTests.enrolled(services, role: .owner, clock: clock)
        let (otherEmail, otherPassword, other) = try await CabinetTests.member(services, role: .developer, merchantName: "Other")
        let otherUser = try await services.accounts.login(email: otherEmail, password: otherPassword, address: "192.0.2.1")
        let request = try await services.applePayRequests.create(
            merchantID: other.id,
            mode: .test,
            type: .applePayPaymentProcessing,
            name: "merchant.other"
        )
        let signing = try await services.signingKeys.register(
            merchantID: other.id,
            mode: .test,
            name: "theirs",
            pem: try GeneratedKeyPair.generate(.p256).publicKey.spkiPEM,
            limits: RequestedLimits(),
            by: .platformOperator
        )
        let app = try await Harness.app(settings, clock: clock.clock)
        _ = try await app.test(.router) { client in
            let browser = try await CabinetKeysTests.signIn(client, services, email: email, password: password, totp: totp, at: clock.clock.now())
            let csrf = try #require(Browser.csrf(String(buffer: try await browser.send(client, .get, "/cabinet").body)))
            #expect(try await browser.send(client, .get, "/cabinet/apple-pay/requests/\(request.id)?mode=test").status == .notFound)
            #expect(
                try await browser.send(client, .post, "/cabinet/credentials/signing-keys/\(signing.id)/revoke", form: ["csrf": csrf, "mode": "test"])
                    .status == .notFound
            )
            #expect(try await services.signingKeys.list(merchantID: other.id, mode: .test).first?.revokedAt == nil)
            // Another merchant's member: neither their role nor their membership changes.
            let role = try await browser.send(client, .post, "/cabinet/team/\(otherUser.id)/role", form: ["csrf": csrf, "role": "viewer"])
            let removal = try await browser.send(client, .post, "/cabinet/team/\(otherUser.id)/remove", form: ["csrf": csrf])
            #expect(role.status == .notFound && removal.status == .notFound)
            #expect(try await services.team.membership(userID: otherUser.id, merchantID: other.id) == .builtIn(.developer))
        }
    }
}

/// A member of two merchants switches between them; each merchant's role applies there.
@Suite(.closesStores) struct CabinetMerchantSwitchTests {
    typealias Browser = CabinetTests.Browser

    @Test func aMemberOfTwoMerchantsSwitchesAndGetsEachRole() async throws {
        let settings = Harness.settings()
        let services = try await Harness.services(settings)
        let (email, password, first) = try await CabinetTests.member(services, role: .developer, merchantName: "First <shop>")
        let second = try await services.merchants.create(name: "Second shop")
        _ = try await services.team.addMember(email: email, merchantID: second.id, role: .builtIn(.viewer))
        let stranger = try await services.merchants.create(name: "Stranger")
        let app = try await Harness.app(settings)
        _ = try await app.test(.router) { client in
            let browser = try await CabinetKeysTests.signIn(client, services, email: email, password: password, totp: nil, at: Date())
            let overview = String(buffer: try await browser.send(client, .get, "/cabinet").body)
            let shownFirst = overview.contains("First &lt;shop&gt;") && overview.contains(#"<option value="\#(second.id)">Second shop</option>"#)
            #expect(shownFirst && !overview.contains(first.id))
            let csrf = try #require(Browser.csrf(overview))
            #expect(try await browser.send(client, .post, "/cabinet/switch", form: ["csrf": csrf, "merchant": stranger.id]).status == .notFound)
            let oldToken = try #require(browser.cookies["__Host-kw_session"])
            let switched = try await browser.send(client, .post, "/cabinet/switch", form: ["csrf": csrf, "merchant": second.id])
            #expect(switched.headers[.location] == "/cabinet")
            let now = String(buffer: try await browser.send(client, .get, "/cabinet").body)
            #expect(now.contains("Second shop (Viewer)") && now.contains(#"<option value="\#(first.id)">"#))
            // A viewer there: generating a key is refused, though the same person is a developer at the first merchant.
            let csrf2 = try #require(Browser.csrf(now))
            #expect(try await browser.send(client, .post, "/cabinet/keys", form: ["csrf": csrf2, "mode": "test", "name": "x"]).status == .forbidden)
            // The old session ended with the switch.
            #expect(try await services.cabinetSessions.lookup(token: oldToken) == nil)
            #expect(browser.cookies["__Host-kw_session"] != oldToken)
        }
    }
}

/// One's own account: change the password (others signed out), replace recovery codes with a fresh code.
@Suite(.closesStores) struct CabinetAccountTests {
    typealias Browser = CabinetTests.Browser

    @Test func aMemberChangesTheirPasswordAndReplacesTheirRecoveryCodes() async throws {
        let clock = TestClock()
        let settings = Harness.settings()
        let services = try await Harness.services(settings, clock: clock.clock)
        let (email, password, _, totp) = try await CabinetKeyActionsTests.enrolled(services, role: .developer, clock: clock)
        let userID = try await services.accounts.login(email: email, password: password, address: "192.0.2.1").id
        let app = try await Harness.app(settings, clock: clock.clock)
        _ = try await app.test(.router) { client in
            let elsewhere = try await CabinetKeysTests.signIn(client, services, email: email, password: password, totp: totp, at: clock.clock.now())
            clock.advance(30)
            let signedInAt = clock.clock.now()
            let browser = try await CabinetKeysTests.signIn(client, services, email: email, password: password, totp: totp, at: signedInAt)
            let page = String(buffer: try await browser.send(client, .get, "/cabinet/account").body)
            #expect(page.contains("10 of 10 recovery codes left"))
            let csrf = try #require(Browser.csrf(page))
            let wrong = try await browser.send(
                client,
                .post,
                "/cabinet/account/password",
                form: ["csrf": csrf, "current": "not it at all", "password": "a new long passphrase"]
            )
            #expect(wrong.status == .unauthorized && String(buffer: wrong.body).contains("current password is wrong"))
            let weak = try await browser.send(
                client,
                .post,
                "/cabinet/account/password",
                form: ["csrf": csrf, "current": password, "password": "short"]
            )
            #expect(weak.status == .badRequest)
            let changed = try await browser.send(
                client,
                .post,
                "/cabinet/account/password",
                form: ["csrf": csrf, "current": password, "password": "a new long passphrase"]
            )
            #expect(changed.headers[.location] == "/cabinet/account?changed=1")
            #expect(try await browser.send(client, .get, "/cabinet/account?changed=1").status == .ok, "this browser stays signed in")
            #expect(try await elsewhere.send(client, .get, "/cabinet").headers[.location] == "/cabinet/login", "the other one is signed out")
            #expect(try await services.accounts.login(email: email, password: "a new long passphrase", address: "192.0.2.1").id == userID)

            // New recovery codes need a fresh authenticator code (the one used to sign in is spent).
            let fresh = String(buffer: try await browser.send(client, .get, "/cabinet/account").body)
            let csrf2 = try #require(Browser.csrf(fresh))
            let spent = try await browser.send(
                client,
                .post,
                "/cabinet/account/recovery-codes",
                form: ["csrf": csrf2, "code": totp.code(at: signedInAt)]
            )
            #expect(spent.status == .unauthorized)
            clock.advance(30)
            let codes = try await browser.send(
                client,
                .post,
                "/cabinet/account/recovery-codes",
                form: ["csrf": csrf2, "code": totp.code(at: clock.clock.now())]
            )
            #expect(String(buffer: codes.body).components(separatedBy: "<li>").count == 11)
        }
    }
}
