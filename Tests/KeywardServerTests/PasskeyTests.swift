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

/// Passkeys in the cabinet, against a software authenticator in Python: enrolment, sign-in, and the
/// attacks a passkey must stop (replay, another origin or RP ID, a forged signature, a cloned
/// authenticator, another user's or a removed passkey, guessing until locked, TOTP where a passkey is required).
@Suite(.closesStores) struct PasskeyTests {
    typealias Browser = CabinetTests.Browser
    typealias Auth = SoftAuthenticator

    /// An owner with TOTP signs in, adds a passkey (other browsers are signed out), then signs in with it alone.
    @Test(arguments: [(-7, "none"), (-7, "packed-x5c"), (-257, "packed-self")])
    func aPasskeyIsAddedFromTheAccountPageAndSignsIn(alg: Int, attestation: String) async throws {
        let clock = TestClock()
        let settings = Auth.settings()
        let services = try await Harness.services(settings, clock: clock.clock)
        let owner = try await Auth.memberWithTOTP(services, role: .owner, at: clock.clock.now())
        let app = try await Harness.app(settings, clock: clock.clock)
        _ = try await app.test(.router) { client in
            clock.advance(30)
            let other = try await CabinetKeysTests.signIn(
                client,
                services,
                email: owner.email,
                password: owner.password,
                totp: owner.totp,
                at: clock.clock.now()
            )
            clock.advance(30)
            let browser = try await CabinetKeysTests.signIn(
                client,
                services,
                email: owner.email,
                password: owner.password,
                totp: owner.totp,
                at: clock.clock.now()
            )
            let (credential, added) = try await Auth.add(client, browser, name: "Security <key>", alg: alg, attestation: attestation)
            #expect(added.headers[.location] == "/cabinet/account?passkey=added", "\(String(buffer: added.body).prefix(400))")
            let account = String(buffer: try await browser.send(client, .get, "/cabinet/account").body)
            #expect(account.contains("Security &lt;key&gt;") && account.contains(alg == -7 ? "ES256" : "RS256"))
            // Adding a passkey signs every other browser out, as TOTP enrolment does.
            #expect(try await other.send(client, .get, "/cabinet").headers[.location] == "/cabinet/login")

            let fresh = try await Auth.password(client, email: owner.email, password: owner.password)
            #expect(try await fresh.send(client, .get, "/cabinet").headers[.location] == "/cabinet/2fa")
            let (signedIn, _) = try await Auth.signIn(client, fresh, credential, signCount: 1)
            #expect(signedIn.headers[.location] == "/cabinet")
            #expect(try await fresh.send(client, .get, "/cabinet").status == .ok)
        }
        let passkeys = try await services.passkeys.list(userID: owner.userID)
        #expect(
            passkeys.count == 1 && passkeys.first?.lastUsedAt != nil
                && passkeys.first?.attestationFormat == (attestation == "none" ? "none" : "packed")
        )
    }

    /// Replay, another origin, another RP ID, a forged signature, a cloned authenticator (audited),
    /// another user's passkey and a removed passkey: each refused, none signs in.
    @Test func assertionsAnAttackerCouldSendAreRefused() async throws {
        let clock = TestClock()
        let settings = Auth.settings()
        let services = try await Harness.services(settings, clock: clock.clock)
        let alice = try await Auth.memberWithTOTP(services, role: .owner, at: clock.clock.now())
        let bob = try await Auth.memberWithTOTP(services, role: .owner, at: clock.clock.now())
        let app = try await Harness.app(settings, clock: clock.clock)
        _ = try await app.test(.router) { client in
            clock.advance(30)
            let aliceBrowser = try await CabinetKeysTests.signIn(
                client,
                services,
                email: alice.email,
                password: alice.password,
                totp: alice.totp,
                at: clock.clock.now()
            )
            let (aliceKey, _) = try await Auth.add(client, aliceBrowser)
            let bobBrowser = try await CabinetKeysTests.signIn(
                client,
                services,
                email: bob.email,
                password: bob.password,
                totp: bob.totp,
                at: clock.clock.now()
            )
            let (bobKey, _) = try await Auth.add(client, bobBrowser)

            func refused(_ response: TestResponse, _ text: String, sourceLocation: SourceLocation = #_sourceLocation) {
                #expect(response.status == .unauthorized, sourceLocation: sourceLocation)
                #expect(String(buffer: response.body).contains(text), "\(String(buffer: response.body).prefix(600))", sourceLocation: sourceLocation)
            }
            let step = try await Auth.password(client, email: alice.email, password: alice.password)
            // Another site's page asked the authenticator (phishing): the origin is not ours.
            refused(
                try await Auth.signIn(client, step, aliceKey, signCount: 1, lie: ["origin": "https://keys.shop.example.evil.example"]).0,
                "another origin"
            )
            // The authenticator signed for another RP ID.
            refused(try await Auth.signIn(client, step, aliceKey, signCount: 1, lie: ["rp_id": "evil.example"]).0, "another site")
            // A signature that does not cover this assertion.
            refused(try await Auth.signIn(client, step, aliceKey, signCount: 1, lie: ["corrupt_signature": true]).0, "does not verify")
            // Bob's passkey on Alice's account, and Alice's on Bob's.
            refused(try await Auth.signIn(client, step, bobKey, signCount: 1).0, "not registered to your account")
            let (good, answer) = try await Auth.signIn(client, step, aliceKey, signCount: 5)
            #expect(good.headers[.location] == "/cabinet")

            // The same answer again (its challenge was used): refused.
            let again = try await Auth.password(client, email: alice.email, password: alice.password)
            refused(try await Auth.signIn(client, again, aliceKey, signCount: 5, replay: answer).0, "used already")
            // A valid signature whose counter did not advance: a cloned authenticator. Refused and audited.
            refused(try await Auth.signIn(client, again, aliceKey, signCount: 5).0, "cloned")
            refused(try await Auth.signIn(client, again, aliceKey, signCount: 2).0, "cloned")
            #expect(try await services.audit.list(merchantID: alice.merchant.id).contains { $0.outcome == "passkey_cloned" })
            #expect(try await again.send(client, .get, "/cabinet").headers[.location] == "/cabinet/2fa")
            let (recovered, _) = try await Auth.signIn(client, again, aliceKey, signCount: 6)
            #expect(recovered.headers[.location] == "/cabinet")

            // Alice removes her passkey: it no longer signs in.
            let page = String(buffer: try await again.send(client, .get, "/cabinet/account").body)
            let id = try #require(try await services.passkeys.list(userID: alice.userID).first?.id)
            let removed = try await again.send(
                client,
                .post,
                "/cabinet/account/passkeys/\(id)/remove",
                form: ["csrf": try #require(Browser.csrf(page))]
            )
            #expect(removed.headers[.location] == "/cabinet/account?passkey=removed")
            // Bob cannot remove Alice's passkey either (not found), and his stays.
            let bobPage = String(buffer: try await bobBrowser.send(client, .get, "/cabinet/account").body)
            let bobID = try #require(try await services.passkeys.list(userID: bob.userID).first?.id)
            #expect(try await aliceBrowserLess(client, bobBrowser, bobPage, removing: "pky_notalices").status == .notFound)
            #expect(try await services.passkeys.list(userID: bob.userID).map(\.id) == [bobID])
            clock.advance(30)
            let afterRemoval = try await Auth.password(client, email: alice.email, password: alice.password)
            // No passkey left: the step asks for a TOTP code again, and the old credential is unknown.
            let prompt = String(buffer: try await afterRemoval.send(client, .get, "/cabinet/2fa").body)
            #expect(!prompt.contains("passkey-sign-in"))
            let stale = try await afterRemoval.send(
                client,
                .post,
                "/cabinet/2fa/passkey",
                form: try Auth.run([
                    "op": "get", "options": ["challenge": "c3RhbGU", "rpId": "keys.shop.example"], "origin": Auth.origin,
                    "credential_id": aliceKey.id,
                    "key": aliceKey.key, "sign_count": 9,
                ]).merging(["csrf": try #require(Browser.csrf(prompt))]) { $1 }
            )
            #expect(stale.status == .unauthorized)
            #expect(try await afterRemoval.send(client, .get, "/cabinet").headers[.location] == "/cabinet/2fa")
        }
    }

    private func aliceBrowserLess(
        _ client: some TestClientProtocol,
        _ browser: Browser,
        _ page: String,
        removing id: String
    ) async throws -> TestResponse {
        try await browser.send(client, .post, "/cabinet/account/passkeys/\(id)/remove", form: ["csrf": try #require(Browser.csrf(page))])
    }

    /// Wrong assertions count with wrong codes: the fifth locks the step, ends the session, and is audited.
    @Test func fiveFailedAssertionsLockTheSecondFactorStep() async throws {
        let clock = TestClock()
        let settings = Auth.settings()
        let services = try await Harness.services(settings, clock: clock.clock)
        let owner = try await Auth.memberWithTOTP(services, role: .owner, at: clock.clock.now())
        let app = try await Harness.app(settings, clock: clock.clock)
        _ = try await app.test(.router) { client in
            clock.advance(30)
            let browser = try await CabinetKeysTests.signIn(
                client,
                services,
                email: owner.email,
                password: owner.password,
                totp: owner.totp,
                at: clock.clock.now()
            )
            let (credential, _) = try await Auth.add(client, browser)
            let attacker = try await Auth.password(client, email: owner.email, password: owner.password)
            for _ in 0..<4 {
                #expect(try await Auth.signIn(client, attacker, credential, signCount: 1, lie: ["corrupt_signature": true]).0.status == .unauthorized)
            }
            let fifth = try await Auth.signIn(client, attacker, credential, signCount: 1, lie: ["corrupt_signature": true]).0
            #expect(fifth.status == .tooManyRequests)
            #expect(String(buffer: fifth.body).contains("locked until"))
            // The session ended; a new one finds the step locked, even with a good passkey or code.
            #expect(try await attacker.send(client, .get, "/cabinet").headers[.location] == "/cabinet/login")
            let next = try await Auth.password(client, email: owner.email, password: owner.password)
            #expect(try await Auth.signIn(client, next, credential, signCount: 2).0.status == .tooManyRequests)
        }
        #expect(try await services.audit.list(merchantID: owner.merchant.id).contains { $0.outcome == "second_factor_locked" })
    }

    /// The owner requires passkeys for live roles: a member with TOTP is sent to enrol one (after a code),
    /// and codes alone no longer pass. Only an owner changes the setting; the API takes an unrestricted key.
    @Test func whenTheMerchantRequiresPasskeysTOTPNoLongerPassesTheStep() async throws {
        let clock = TestClock()
        let settings = Auth.settings()
        let services = try await Harness.services(settings, clock: clock.clock)
        let owner = try await Auth.memberWithTOTP(services, role: .owner, at: clock.clock.now())
        let admin = try await Auth.memberWithTOTP(services, role: .administrator, at: clock.clock.now(), merchant: owner.merchant)
        let liveKey = try await services.secretKeys.create(
            merchantID: owner.merchant.id,
            mode: .live,
            options: .init(name: "live"),
            by: .platformOperator
        )
        let restricted = try await services.secretKeys.create(
            merchantID: owner.merchant.id,
            mode: .live,
            options: .init(name: "settings", permissions: ["settings.write"]),
            by: .platformOperator
        )
        let app = try await Harness.app(settings, clock: clock.clock)
        _ = try await app.test(.router) { client in
            clock.advance(30)
            // An admin (settings.write, not an owner) cannot require passkeys.
            let adminBrowser = try await CabinetKeysTests.signIn(
                client,
                services,
                email: admin.email,
                password: admin.password,
                totp: admin.totp,
                at: clock.clock.now()
            )
            let adminSettings = try await adminBrowser.send(client, .get, "/cabinet/settings")
            #expect(adminSettings.status == .ok && !String(buffer: adminSettings.body).contains("id=\"passkeys_required\""))
            let denied = try await adminBrowser.send(
                client,
                .post,
                "/cabinet/settings/passkeys",
                form: ["passkeys_required": "on", "csrf": try #require(Browser.csrf(String(buffer: adminSettings.body)))]
            )
            #expect(denied.status == .forbidden && String(buffer: denied.body).contains("Only an owner"))
            _ = try await client.call(.patch, "/v1/manage/settings", key: restricted.secret, json: #"{"passkeys_required": true}"#) {
                $0.expectProblem(.forbidden, "unrestricted_key_required")
            }
            #expect(try await services.merchantSettings.get(merchantID: owner.merchant.id).passkeysRequired == false)

            let ownerBrowser = try await CabinetKeysTests.signIn(
                client,
                services,
                email: owner.email,
                password: owner.password,
                totp: owner.totp,
                at: clock.clock.now()
            )
            let page = String(buffer: try await ownerBrowser.send(client, .get, "/cabinet/settings").body)
            #expect(page.contains("id=\"passkeys_required\""))
            let saved = try await ownerBrowser.send(
                client,
                .post,
                "/cabinet/settings/passkeys",
                form: ["passkeys_required": "on", "csrf": try #require(Browser.csrf(page))]
            )
            #expect(saved.status == .ok && String(buffer: saved.body).contains("now required"))
            _ = try await client.call(.get, "/v1/manage/settings", key: liveKey.secret) { #expect($0.json["passkeys_required"] as? Bool == true) }
            // An unrestricted key may change it (off and on again).
            _ = try await client.call(.patch, "/v1/manage/settings", key: liveKey.secret, json: #"{"passkeys_required": false}"#) {
                #expect($0.json["passkeys_required"] as? Bool == false)
            }
            _ = try await client.call(.patch, "/v1/manage/settings", key: liveKey.secret, json: #"{"passkeys_required": true}"#) {
                #expect($0.json["passkeys_required"] as? Bool == true)
            }

            // The owner (a live role, TOTP on, no passkey yet) signs in: a code no longer passes.
            clock.advance(30)
            let step = try await Auth.password(client, email: owner.email, password: owner.password)
            let prompt = String(buffer: try await step.send(client, .get, "/cabinet/2fa").body)
            #expect(prompt.contains("passkey-enrol") && !prompt.contains("action=\"/cabinet/2fa\""))
            let code = try await step.send(
                client,
                .post,
                "/cabinet/2fa",
                form: ["code": owner.totp.code(at: clock.clock.now()), "csrf": try #require(Browser.csrf(prompt))]
            )
            #expect(code.status == .forbidden)
            #expect(try await step.send(client, .get, "/cabinet").headers[.location] == "/cabinet/2fa")
            // Nor does enrolling TOTP anew.
            #expect(try await step.send(client, .get, "/cabinet/2fa/setup").headers[.location] == "/cabinet/2fa")
            // Enrolment at the step needs a code first; with one, the passkey is added and the member is in.
            let options = try Auth.options(prompt, form: "passkey-enrol")
            let made = try Auth.run(["op": "create", "options": options, "origin": Auth.origin])
            var form = [
                "csrf": try #require(Browser.csrf(prompt)), "name": "Phone", "credential_id": made["credential_id"] ?? "",
                "client_data": made["client_data"] ?? "", "attestation_object": made["attestation_object"] ?? "",
            ]
            let noCode = try await step.send(client, .post, "/cabinet/2fa/passkey/register", form: form)
            #expect(noCode.status == .unauthorized)
            let prompt2 = String(buffer: try await step.send(client, .get, "/cabinet/2fa").body)
            let made2 = try Auth.run(["op": "create", "options": try Auth.options(prompt2, form: "passkey-enrol"), "origin": Auth.origin])
            form = [
                "csrf": try #require(Browser.csrf(prompt2)), "name": "Phone", "credential_id": made2["credential_id"] ?? "",
                "code": owner.totp.code(at: clock.clock.now()),
                "client_data": made2["client_data"] ?? "", "attestation_object": made2["attestation_object"] ?? "",
            ]
            let enrolled = try await step.send(client, .post, "/cabinet/2fa/passkey/register", form: form)
            #expect(enrolled.headers[.location] == "/cabinet", "\(String(buffer: enrolled.body).prefix(500))")
            #expect(try await step.send(client, .get, "/cabinet").status == .ok)
            // Next time only the passkey is offered.
            clock.advance(30)
            let later = try await Auth.password(client, email: owner.email, password: owner.password)
            let laterPrompt = String(buffer: try await later.send(client, .get, "/cabinet/2fa").body)
            #expect(laterPrompt.contains("passkey-sign-in") && !laterPrompt.contains("action=\"/cabinet/2fa\""))
            #expect(
                try await later.send(
                    client,
                    .post,
                    "/cabinet/2fa",
                    form: [
                        "code": owner.totp.code(at: clock.clock.now()),
                        "csrf": try #require(Browser.csrf(laterPrompt)),
                    ]
                ).status == .forbidden
            )
            let credential = Auth.Credential(id: made2["credential_id"] ?? "", key: made2["key"] ?? "", alg: -7)
            #expect(try await Auth.signIn(client, later, credential, signCount: 1).0.headers[.location] == "/cabinet")
        }
    }

    /// Registration refuses what it cannot check: another attestation format, another origin or RP ID,
    /// a create answer posted as a sign-in, a replayed registration.
    @Test func registrationsThatCannotBeCheckedAreRefusedWithACode() async throws {
        let clock = TestClock()
        let settings = Auth.settings()
        let services = try await Harness.services(settings, clock: clock.clock)
        let owner = try await Auth.memberWithTOTP(services, role: .owner, at: clock.clock.now())
        let app = try await Harness.app(settings, clock: clock.clock)
        _ = try await app.test(.router) { client in
            clock.advance(30)
            let browser = try await CabinetKeysTests.signIn(
                client,
                services,
                email: owner.email,
                password: owner.password,
                totp: owner.totp,
                at: clock.clock.now()
            )
            for (lie, text) in [
                (["attestation": "fido-u2f"], "not accepted"), (["origin": "https://evil.example"], "another origin"),
                (["rp_id": "evil.example"], "another site"), (["type": "webauthn.get"], "not of type"),
                (["attestation": "packed-x5c-no-ou"], "Authenticator Attestation"),
                (["attestation": "packed-x5c-other-aaguid"], "another AAGUID"),
            ] as [([String: Any], String)] {
                let (_, response) = try await Auth.add(client, browser, lie: lie)
                #expect(response.status == .badRequest, "\(lie)")
                #expect(String(buffer: response.body).contains(text), "\(lie): \(String(buffer: response.body).prefix(500))")
            }
            #expect(try await services.passkeys.list(userID: owner.userID).isEmpty)
            // Damaged fields: a 400 with a reason, never a 500.
            let page = String(buffer: try await browser.send(client, .get, "/cabinet/account").body)
            let damaged = try await browser.send(
                client,
                .post,
                "/cabinet/account/passkeys",
                form: ["csrf": try #require(Browser.csrf(page)), "name": "x", "client_data": "!!", "attestation_object": "AAAA"]
            )
            #expect(damaged.status == .badRequest && String(buffer: damaged.body).contains("damaged"))
        }
    }

    /// The inline script runs only where passkeys are used, allowed by its hash; every other page keeps
    /// a policy with no script allowance at all.
    @Test func onlyPasskeyPagesAllowTheOneScriptByItsHash() async throws {
        let clock = TestClock()
        let settings = Auth.settings()
        let services = try await Harness.services(settings, clock: clock.clock)
        let owner = try await Auth.memberWithTOTP(services, role: .owner, at: clock.clock.now())
        let app = try await Harness.app(settings, clock: clock.clock)
        _ = try await app.test(.router) { client in
            let anonymous = Browser()
            let login = try await anonymous.send(client, .get, "/cabinet/login")
            clock.advance(30)
            let browser = try await CabinetKeysTests.signIn(
                client,
                services,
                email: owner.email,
                password: owner.password,
                totp: owner.totp,
                at: clock.clock.now()
            )
            var plain = [login]
            for path in [
                "/cabinet", "/cabinet/keys?mode=test", "/cabinet/settings", "/cabinet/team", "/cabinet/certificates", "/cabinet/audit",
                "/cabinet/nope",
            ] {
                plain.append(try await browser.send(client, .get, path))
            }
            for response in plain {
                let policy = response.headers[.contentSecurityPolicy] ?? ""
                #expect(policy.hasPrefix("default-src 'none'") && !policy.contains("script-src"), "\(policy)")
                #expect(!String(buffer: response.body).contains("<script"))
            }
            let account = try await browser.send(client, .get, "/cabinet/account")
            let policy = try #require(account.headers[.contentSecurityPolicy])
            let html = String(buffer: account.body)
            let script = try #require(
                html.range(of: "<script>").flatMap { start in
                    html.range(of: "</script>", range: start.upperBound..<html.endIndex).map { String(html[start.upperBound..<$0.lowerBound]) }
                }
            )
            let digest = "sha256-" + Data(SHA256.hash(data: Array(script.utf8))).base64EncodedString()
            #expect(policy.contains("script-src '\(digest)';"), "\(policy)")
            #expect(html.components(separatedBy: "<script").count == 2, "exactly one script")
            // The script directive names the hash and nothing else ('self', 'unsafe-inline', hosts).
            let directive = policy.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }.filter { $0.hasPrefix("script-src") }
            #expect(directive == ["script-src '\(digest)'"], "\(policy)")
        }
    }
}

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
