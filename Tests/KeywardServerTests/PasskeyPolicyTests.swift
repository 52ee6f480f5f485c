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

/// A merchant that requires passkeys for live roles.
extension PasskeyTests {
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

}
