import Foundation
import Hummingbird
import HummingbirdTesting
import KeywardServer
import Testing

@testable import KeywardCore

/// The one credential lifecycle (`CredentialLifecycle`): the rules every kind shares, attacked with races
/// and with the kinds that used to answer differently.
@Suite(.closesStores) struct CredentialLifecycleTests {
    /// Two requests racing to roll one key used to both pass the "is it active?" check and both mint a
    /// replacement: two live secrets where the merchant asked for one.
    @Test func racingRollsOfOneKeyMintOneReplacement() async throws {
        let (app, tenant) = try await Harness.appWithTenant()
        _ = try await app.test(.router) { client in
            let admin = tenant.testKey.secret
            let created = try await client.call(.post, "/v1/manage/keys", key: admin, json: #"{"name":"raced"}"#)
            let id = try #require(created.json["id"] as? String)
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for _ in 0..<8 {
                    group.addTask { try await client.call(.post, "/v1/manage/keys/\(id)/roll", key: admin, json: #"{"overlap_seconds":60}"#).status }
                }
                return try await group.reduce(into: [HTTPResponse.Status]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == .created }.count == 1, "\(statuses)")
            #expect(statuses.filter { $0 == .conflict }.count == 7, "\(statuses)")
            let listing = try await client.call(.get, "/v1/manage/keys", key: admin)
            let rolledFromThis = (listing.json["data"] as? [[String: Any]])?.filter { $0["rolled_from"] as? String == id } ?? []
            #expect(rolledFromThis.count == 1, "exactly one replacement exists")
        }
    }

    /// The race made deterministic: a roll that read the key before another request rolled it writes
    /// nothing (its replacement is not kept) and is refused.
    @Test func aRollThatReadTheKeyBeforeAnotherRollIsRefusedAndKeepsNothing() async throws {
        let services = try await Harness.services(Harness.settings())
        let tenant = try await Harness.tenant(services)
        let merchant = tenant.merchant.id
        let created = try await services.secretKeys.create(merchantID: merchant, mode: .test, options: .init(name: "stale"), by: .platformOperator)
        let stale = try await services.secretKeys.row(merchantID: merchant, mode: .test, id: created.info.id)
        _ = try await services.secretKeys.roll(merchantID: merchant, mode: .test, id: created.info.id, overlapSeconds: 60, by: .platformOperator)

        let lifecycle = CredentialLifecycle(store: services.store, changes: services.changes, clock: .system)
        let (late, _) = SecretKeyService.makeRow(
            merchantID: merchant,
            mode: .test,
            name: "stale",
            permissions: nil,
            networks: [],
            expiresAt: nil,
            now: Date(),
            rolledFrom: stale.id
        )
        await #expect(throws: KeywardError.self) { try await lifecycle.roll(stale, overlap: 0, into: late) }
        await #expect(throws: KeywardError.self) { _ = try await services.secretKeys.get(merchantID: merchant, mode: .test, id: late.id) }
        let replaced = try await services.secretKeys.get(merchantID: merchant, mode: .test, id: created.info.id)
        #expect(replaced.replacedBy != late.id && replaced.replacedBy != nil)
        #expect(replaced.status(at: Date()) == .rolling, "the first roll's 60 s overlap stands; the late roll did not cut it to 0")
    }

    /// A revocation that read the key before another one revoked it keeps the first revocation's time.
    @Test func aLateRevocationKeepsTheFirstRevocationTime() async throws {
        let clock = TestClock()
        let services = try await Harness.services(Harness.settings(), clock: clock.clock)
        let tenant = try await Harness.tenant(services)
        let merchant = tenant.merchant.id
        let created = try await services.secretKeys.create(merchantID: merchant, mode: .test, options: .init(name: "twice"), by: .platformOperator)
        let stale = try await services.secretKeys.row(merchantID: merchant, mode: .test, id: created.info.id)
        let first = try await services.secretKeys.revoke(merchantID: merchant, mode: .test, id: created.info.id)
        clock.advance(3600)
        let lifecycle = CredentialLifecycle(store: services.store, changes: services.changes, clock: clock.clock)
        let late = try await lifecycle.revoke(stale)
        #expect(late.revoked_ms == first.revokedAt?.millis)
        #expect(try await services.secretKeys.get(merchantID: merchant, mode: .test, id: created.info.id).revokedAt == first.revokedAt)
    }

    /// Payment keys and secret keys used to refuse a second roll differently (`key_inactive` "is rolling" for
    /// one, `key_already_rolled` for the other); both now name the replacement to roll instead.
    @Test func aRolledKeyOfEitherKindAnswersAlreadyRolled() async throws {
        let (app, tenant) = try await Harness.appWithTenant()
        _ = try await app.test(.router) { client in
            let admin = tenant.testKey.secret
            for path in ["keys", "payment-keys"] {
                let created = try await client.call(.post, "/v1/manage/\(path)", key: admin, json: "{}")
                let id = try #require(created.json["id"] as? String, "\(created.text)")
                let rolled = try await client.call(.post, "/v1/manage/\(path)/\(id)/roll", key: admin, json: #"{"overlap_seconds":600}"#)
                #expect(rolled.status == .created, "\(rolled.text)")
                let replacement = try #require(rolled.json["id"] as? String)
                try await client.call(.post, "/v1/manage/\(path)/\(id)/roll", key: admin, json: "{}") { response in
                    response.expectProblem(.conflict, "key_already_rolled")
                    #expect((response.json["detail"] as? String)?.contains(replacement) == true, "\(response.text)")
                }
                _ = try await client.call(.post, "/v1/manage/\(path)/\(id)/revoke", key: admin)
                try await client.call(.post, "/v1/manage/\(path)/\(id)/roll", key: admin, json: "{}") { $0.expectProblem(.conflict, "key_inactive") }
            }
        }
    }
}
