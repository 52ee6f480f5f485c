import Foundation
import HummingbirdTesting
import KeywardCore
import KeywardServer
import KeywardTestSupport
import Testing

/// One audit vocabulary: the same change has the same action whichever way it came (the API's key, a
/// member in the cabinet; the CLI's operator is checked by the walkthrough), refusals are recorded
/// under the action that was refused, and every action is documented.
@Suite(.closesStores) struct AuditVocabularyTests {
    typealias Browser = CabinetTests.Browser

    /// The actions of `merchantID`'s entries by `actorType`, oldest first, with their outcomes.
    static func entries(_ services: KeywardServices, _ merchantID: String, by actorType: String) async throws -> [String] {
        try await services.audit.list(merchantID: merchantID).filter { $0.actorType == actorType }.reversed().map { "\($0.action) \($0.outcome)" }
    }

    @Test func theAPIAndTheCabinetRecordTheSameActionsForTheSameChanges() async throws {
        let clock = TestClock()
        let settings = Harness.settings()
        let services = try await Harness.services(settings, clock: clock.clock)
        let (email, password, merchant) = try await CabinetTests.member(services, role: .developer)
        let apiKey = try await services.secretKeys.create(
            merchantID: merchant.id,
            mode: .test,
            options: .init(name: "automation", permissions: ["keys.write", "keys.read", "payments.write"]),
            by: .platformOperator
        )
        let app = try await Harness.app(settings, clock: clock.clock)
        _ = try await app.test(.router) { client in
            // Through the API: create a key, roll it, revoke the replacement; a payment key.
            let created = try await client.call(
                .post,
                "/v1/manage/keys",
                key: apiKey.secret,
                json: #"{"name": "a", "permissions": ["payments.write"]}"#
            )
            let id = try #require(created.json["id"] as? String, "\(created.status) \(created.text)")
            let rolled = try await client.call(.post, "/v1/manage/keys/\(id)/roll", key: apiKey.secret, json: #"{"overlap_seconds": 0}"#)
            let replacement = try #require(rolled.json["id"] as? String)
            _ = try await client.call(.post, "/v1/manage/keys/\(replacement)/revoke", key: apiKey.secret) { #expect($0.status == .ok) }
            _ = try await client.call(.post, "/v1/manage/payment-keys", key: apiKey.secret, json: #"{"label": "p"}"#) {
                #expect($0.status == .created)
            }

            // The same through the cabinet.
            let browser = try await CabinetKeysTests.signIn(client, services, email: email, password: password, totp: nil, at: clock.clock.now())
            let keysPage = try await browser.send(client, .get, "/cabinet/keys?mode=test")
            let csrf = try #require(Browser.csrf(String(buffer: keysPage.body)))
            let made = try await browser.send(
                client,
                .post,
                "/cabinet/keys",
                form: ["mode": "test", "csrf": csrf, "name": "b", "access": "restricted", "permission.payments.write": "on"]
            )
            #expect(made.status == .created)
            let key = try #require(try await services.secretKeys.list(merchantID: merchant.id, mode: .test).first { $0.name == "b" })
            let cabinetRoll = try await browser.send(
                client,
                .post,
                "/cabinet/keys/\(key.id)/roll",
                form: ["mode": "test", "csrf": csrf, "overlap": "0"]
            )
            #expect(cabinetRoll.status == .created)
            let cabinetReplacement = try #require(
                try await services.secretKeys.list(merchantID: merchant.id, mode: .test).first { $0.rolledFrom == key.id }
            )
            let revoked = try await browser.send(
                client,
                .post,
                "/cabinet/keys/\(cabinetReplacement.id)/revoke",
                form: ["mode": "test", "csrf": csrf]
            )
            #expect(revoked.status == .seeOther)
            let payment = try await browser.send(
                client,
                .post,
                "/cabinet/credentials/payment-keys",
                form: ["mode": "test", "csrf": csrf, "name": "q"]
            )
            #expect(payment.status.code < 400)

            let expected = ["secret_key.create ok", "secret_key.roll ok", "secret_key.revoke ok", "payment_key.create ok"]
            #expect(try await Self.entries(services, merchant.id, by: "key") == expected)
            #expect(try await Self.entries(services, merchant.id, by: "user").filter { !$0.hasPrefix("sign_in.") } == expected)
        }
    }

    /// An attacker's attempts are on record under the action they tried: another merchant's key, a
    /// permission the key lacks, a management path that does not exist.
    @Test func refusedChangesAreRecordedUnderTheActionTheyTried() async throws {
        let settings = Harness.settings()
        let services = try await Harness.services(settings)
        let victim = try await Harness.tenant(services)
        let attacker = try await Harness.tenant(services)
        let narrow = try await services.secretKeys.create(
            merchantID: attacker.merchant.id,
            mode: .test,
            options: .init(name: "narrow", permissions: ["keys.read"]),
            by: .platformOperator
        )
        let app = try await Harness.app(settings)
        _ = try await app.test(.router) { client in
            let victimKey = victim.testKey.info.id
            _ = try await client.call(.post, "/v1/manage/keys/\(victimKey)/roll", key: attacker.testKey.secret, json: "{}") {
                $0.expectProblem(.notFound, "resource_missing")
            }
            _ = try await client.call(.post, "/v1/manage/keys", key: narrow.secret, json: #"{"name": "x"}"#) {
                $0.expectProblem(.forbidden, "insufficient_permissions")
            }
            _ = try await client.call(.post, "/v1/manage/keys-everywhere", key: attacker.testKey.secret, json: "{}") {
                $0.expectProblem(.notFound, "not_found")
            }
        }
        let entries = try await services.audit.list(merchantID: attacker.merchant.id).reversed().map { "\($0.action) \($0.outcome)" }
        #expect(
            entries == [
                "secret_key.roll resource_missing", "secret_key.create insufficient_permissions",
                "api.unknown_endpoint POST /v1/manage/keys-everywhere not_found",
            ]
        )
        #expect(try await services.audit.list(merchantID: victim.merchant.id).isEmpty, "nothing is written on the victim's record")
    }

    /// README's "Audit actions" table lists exactly the registered actions, each once.
    @Test func everyActionIsDocumentedInREADME() throws {
        let readme = try String(contentsOf: SettingsTableTests.root.appendingPathComponent("README.md"), encoding: .utf8)
        let section = try #require(readme.components(separatedBy: "### Audit actions").dropFirst().first?.components(separatedBy: "\n## ").first)
        let listed = section.split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("| `") else { return nil }
            return String(line.dropFirst(3).prefix { $0 != "`" })
        }
        #expect(listed == AuditAction.documented.map(\.action.rawValue))
        #expect(Set(listed).count == listed.count && AuditAction.all.count == listed.count)
    }

    @Test func entriesWrittenBeforeTheVocabularyNameNoAction() {
        #expect(AuditAction.named(in: "member.invite Developer") == .memberInvite)
        #expect(AuditAction.named(in: "POST /v1/manage/keys") == nil)
        #expect(AuditAction.named(in: "cabinet: roll secret key") == nil)
        #expect(AuditAction.memberInvite.text(detail: "") == "member.invite")
    }
}
