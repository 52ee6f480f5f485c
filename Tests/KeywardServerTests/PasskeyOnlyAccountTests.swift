import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KeywardCore
import KeywardCrypto
import KeywardTestSupport
import Testing

@testable import KeywardServer

/// Accounts whose only second factor is a passkey, and the enrolment door at the step.
@Suite(.closesStores) struct PasskeyOnlyAccountTests {
    typealias Browser = CabinetTests.Browser
    typealias Auth = SoftAuthenticator

    /// A Developer (no second factor required) adds a passkey: from then on every sign-in asks for it.
    /// A password alone cannot add one at the step when the merchant does not require passkeys.
    @Test func aPasskeyMakesTheStepRequiredEvenForRolesThatNeedNone() async throws {
        let settings = Auth.settings()
        let services = try await Harness.services(settings)
        let (email, password, _) = try await CabinetTests.member(services, role: .developer)
        let app = try await Harness.app(settings)
        _ = try await app.test(.router) { client in
            let browser = try await Auth.password(client, email: email, password: password)
            #expect(try await browser.send(client, .get, "/cabinet").status == .ok)
            let (credential, added) = try await Auth.add(client, browser)
            #expect(added.headers[.location] == "/cabinet/account?passkey=added")
            // The browser that added it stays in (it just showed the passkey).
            #expect(try await browser.send(client, .get, "/cabinet/account?passkey=added").status == .ok)

            let next = try await Auth.password(client, email: email, password: password)
            #expect(try await next.send(client, .get, "/cabinet").headers[.location] == "/cabinet/2fa")
            #expect(try await next.send(client, .get, "/cabinet/2fa/setup").headers[.location] == "/cabinet/2fa", "not TOTP enrolment instead")
            // Enrolling another passkey at the step (the password is all the attacker has) is closed.
            let prompt = String(buffer: try await next.send(client, .get, "/cabinet/2fa").body)
            let closed = try await next.send(
                client,
                .post,
                "/cabinet/2fa/passkey/register",
                form: ["csrf": try #require(Browser.csrf(prompt)), "name": "mine"]
            )
            #expect(closed.status == .forbidden)
            #expect(try await Auth.signIn(client, next, credential, signCount: 1).0.headers[.location] == "/cabinet")
        }
    }

    /// A challenge answered after its five minutes is refused, even with a good signature.
    @Test func anAnswerToAnExpiredChallengeIsRefused() async throws {
        let clock = TestClock()
        // A database of its own: past the lifetime, issuing the next challenge prunes every expired one,
        // which on a shared PostgreSQL database are the challenges other tests are answering right now.
        let settings = try Harness.isolatedSettings { $0.publicURL = Auth.origin }
        let services = try await Harness.services(settings, clock: clock.clock)
        let (email, password, _) = try await CabinetTests.member(services, role: .developer)
        let app = try await Harness.app(settings, clock: clock.clock)
        _ = try await app.test(.router) { client in
            let (credential, _) = try await Auth.add(client, try await Auth.password(client, email: email, password: password))
            let browser = try await Auth.password(client, email: email, password: password)
            let page = String(buffer: try await browser.send(client, .get, "/cabinet/2fa").body)
            var answer = try Auth.run([
                "op": "get", "options": try Auth.options(page, form: "passkey-sign-in"), "origin": Auth.origin,
                "credential_id": credential.id, "key": credential.key, "sign_count": 1,
            ])
            answer["csrf"] = try #require(Browser.csrf(page))
            clock.advance(PasskeyService.challengeLifetime + 1)
            let late = try await browser.send(client, .post, "/cabinet/2fa/passkey", form: answer)
            #expect(late.status == .unauthorized && String(buffer: late.body).contains("expired"))
            #expect(try await browser.send(client, .get, "/cabinet").headers[.location] == "/cabinet/2fa")
        }
    }

    /// A new owner without TOTP in a merchant that requires passkeys is sent to add one, not to TOTP enrolment.
    @Test func aNewLiveMemberWhereAPasskeyIsRequiredEnrolsOne() async throws {
        let settings = Auth.settings()
        let services = try await Harness.services(settings)
        let (email, password, merchant) = try await CabinetTests.member(services, role: .owner)
        _ = try await services.merchantSettings.update(merchantID: merchant.id, rotationDays: nil, allowedIPs: nil, passkeysRequired: true)
        let app = try await Harness.app(settings)
        _ = try await app.test(.router) { client in
            let browser = try await Auth.password(client, email: email, password: password)
            #expect(try await browser.send(client, .get, "/cabinet").headers[.location] == "/cabinet/2fa/setup")
            #expect(try await browser.send(client, .get, "/cabinet/2fa/setup").headers[.location] == "/cabinet/2fa")
            let setupPost = try await browser.send(
                client,
                .post,
                "/cabinet/2fa/setup",
                form: [
                    "csrf": try #require(Browser.csrf(String(buffer: try await browser.send(client, .get, "/cabinet/2fa").body))), "code": "123456",
                ]
            )
            #expect(setupPost.headers[.location] == "/cabinet/2fa", "TOTP enrolment does not pass a passkey step")
            let prompt = String(buffer: try await browser.send(client, .get, "/cabinet/2fa").body)
            #expect(prompt.contains("passkey-enrol") && !prompt.contains("id=\"code\""))
            let made = try Auth.run(["op": "create", "options": try Auth.options(prompt, form: "passkey-enrol"), "origin": Auth.origin])
            let enrolled = try await browser.send(
                client,
                .post,
                "/cabinet/2fa/passkey/register",
                form: [
                    "csrf": try #require(Browser.csrf(prompt)), "name": "Phone", "credential_id": made["credential_id"] ?? "",
                    "client_data": made["client_data"] ?? "", "attestation_object": made["attestation_object"] ?? "",
                ]
            )
            #expect(enrolled.headers[.location] == "/cabinet", "\(enrolled.status): \(String(buffer: enrolled.body).prefix(2000))")
            #expect(try await browser.send(client, .get, "/cabinet").status == .ok)
        }
    }
}
