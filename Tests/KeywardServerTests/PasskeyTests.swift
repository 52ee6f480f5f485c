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
