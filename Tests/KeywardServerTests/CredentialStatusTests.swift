import Crypto
import Foundation
import HummingbirdTesting
import KeywardCore
import KeywardCrypto
import KeywardServer
import KeywardTestSupport
import Testing

/// One status per credential, the same in the API and the cabinet (`CredentialStatus`): before it, an
/// expired signing key or JWK read `active` in the API, and a rolled payment key read `rolling` in the
/// API but `active` in the cabinet.
@Suite(.closesStores) struct CredentialStatusTests {
    /// The precedence, written once: revoked > expired > rolling > active; an expiry at this very
    /// moment has passed (the gateway refuses from `expiresAt` on).
    @Test func revokedBeatsExpiredBeatsRollingBeatsActive() {
        let now = Date()
        let past = now.addingTimeInterval(-1)
        let future = now.addingTimeInterval(60)
        for revoked in [nil, past] as [Date?] {
            for expiry in [nil, past, now, future] as [Date?] {
                for rolled in [false, true] {
                    let expected: CredentialStatus =
                        revoked != nil ? .revoked : (expiry.map { $0 <= now } == true ? .expired : (rolled ? .rolling : .active))
                    #expect(
                        CredentialStatus(revokedAt: revoked, expiresAt: expiry, rolled: rolled, at: now) == expected,
                        "revoked \(revoked != nil), expiry \(String(describing: expiry)), rolled \(rolled)"
                    )
                }
            }
        }
        // The strings the API and the cabinet show (a client may switch on them).
        #expect(CredentialStatus.allCases.map(\.rawValue) == ["active", "rolling", "expired", "revoked"])
        #expect(CredentialStatus.active.isUsable && CredentialStatus.rolling.isUsable)
        #expect(!CredentialStatus.expired.isUsable && !CredentialStatus.revoked.isUsable)
    }

    /// The cells of the table row of the keys page that shows `marker` (an id, or a label), tags removed.
    static func row(_ page: String, containing marker: String) throws -> String {
        let at = try #require(page.range(of: marker), "no row with \(marker)")
        let start = try #require(page[..<at.lowerBound].range(of: "<tr>", options: .backwards))
        let end = try #require(page[at.upperBound...].range(of: "</tr>"))
        return String(page[start.lowerBound..<end.upperBound])
    }

    /// Whether a row's Status cell says `status` (no other cell of these rows is a bare status word).
    static func hasStatus(_ row: String, _ status: CredentialStatus) -> Bool {
        row.contains("<td>\(status.rawValue)</td>")
    }

    @Test func anExpiredSigningKeyReadsExpiredInTheAPIAndTheCabinet() async throws {
        let clock = TestClock()
        let settings = try Harness.isolatedSettings()
        let services = try await Harness.services(settings, clock: clock.clock)
        let (email, password, merchant) = try await CabinetTests.member(services, role: .developer)
        let apiKey = try await services.secretKeys.create(
            merchantID: merchant.id,
            mode: .test,
            options: .init(name: "backend"),
            by: .platformOperator
        )
        let signer = Curve25519.Signing.PrivateKey()
        let key = try await services.signingKeys.register(
            merchantID: merchant.id,
            mode: .test,
            name: "short-lived",
            pem: SignedRequestTests.pem(signer),
            limits: RequestedLimits(expiresAt: clock.clock.now().addingTimeInterval(3600)),
            by: .platformOperator
        )
        let app = try await Harness.app(settings, clock: clock.clock)
        _ = try await app.test(.router) { client in
            func apiStatus() async throws -> String? {
                let list = try await client.call(.get, "/v1/manage/signing-keys", key: apiKey.secret)
                let data = try #require(list.json["data"] as? [[String: Any]])
                return data.first { $0["id"] as? String == key.id }?["status"] as? String
            }
            #expect(try await apiStatus() == "active")
            clock.advance(3601)
            // The gateway refuses it from here on, so neither view may call it active.
            #expect(try await apiStatus() == "expired")
            let browser = try await CabinetKeysTests.signIn(client, services, email: email, password: password, totp: nil, at: clock.clock.now())
            let page = String(buffer: try await browser.send(client, .get, "/cabinet/keys?mode=test").body)
            let row = try Self.row(page, containing: "<code>\(key.id)</code>")
            #expect(Self.hasStatus(row, .expired), "\(row)")
        }
    }

    @Test func aRolledPaymentKeyReadsRollingInTheAPIAndTheCabinetUntilItsOverlapEnds() async throws {
        let clock = TestClock()
        let settings = try Harness.isolatedSettings()
        let services = try await Harness.services(settings, clock: clock.clock)
        let (email, password, merchant) = try await CabinetTests.member(services, role: .developer)
        let apiKey = try await services.secretKeys.create(
            merchantID: merchant.id,
            mode: .test,
            options: .init(name: "backend"),
            by: .platformOperator
        )
        let original = try await services.paymentKeys.create(merchantID: merchant.id, mode: .test, label: "web shop", by: .platformOperator)
        let app = try await Harness.app(settings, clock: clock.clock)
        _ = try await app.test(.router) { client in
            let rolled = try await client.call(
                .post,
                "/v1/manage/payment-keys/\(original.info.id)/roll",
                key: apiKey.secret,
                json: #"{"overlap_seconds":3600}"#
            )
            #expect(rolled.status == .created, "\(rolled.text)")
            // The cabinet row is found by the last four characters; in the 1 in 65,536 case where the
            // replacement shares them, the rows cannot be told apart and there is nothing to check.
            guard (rolled.json["last4"] as? String) != original.info.last4 else { return }
            func apiStatus() async throws -> String? {
                let list = try await client.call(.get, "/v1/manage/payment-keys", key: apiKey.secret)
                let data = try #require(list.json["data"] as? [[String: Any]])
                return data.first { $0["id"] as? String == original.info.id }?["status"] as? String
            }
            func cabinetRow() async throws -> String {
                let browser = try await CabinetKeysTests.signIn(client, services, email: email, password: password, totp: nil, at: clock.clock.now())
                let page = String(buffer: try await browser.send(client, .get, "/cabinet/keys?mode=test").body)
                return try Self.row(page, containing: "…\(original.info.last4)</code>")
            }
            #expect(try await apiStatus() == "rolling")
            let during = try await cabinetRow()
            #expect(Self.hasStatus(during, .rolling), "\(during)")
            // Still working, so still revocable; already rolled, so not offered for another roll.
            #expect(during.contains("/payment-keys/\(original.info.id)/revoke") && !during.contains("/payment-keys/\(original.info.id)/roll"))

            clock.advance(3601)
            #expect(try await apiStatus() == "expired")
            let after = try await cabinetRow()
            #expect(Self.hasStatus(after, .expired) && !after.contains("/revoke"), "\(after)")
        }
    }

    @Test func anExpiredJWKReadsExpiredInTheAPIAndTheCabinet() async throws {
        let clock = TestClock()
        let settings = try Harness.isolatedSettings()
        let services = try await Harness.services(settings, clock: clock.clock)
        let (email, password, merchant) = try await CabinetTests.member(services, role: .developer)
        let apiKey = try await services.secretKeys.create(
            merchantID: merchant.id,
            mode: .test,
            options: .init(name: "backend"),
            by: .platformOperator
        )
        let pair = JWK(material: .ecPrivate(.generate(.p384)), kid: "bank-sdk", use: "enc", alg: JWEAlgorithm.ecdhESA256KW.rawValue)
        let jwk = try await services.jweKeys.register(
            merchantID: merchant.id,
            mode: .test,
            name: "bank sdk",
            jwk: pair.publicJWK.json(),
            limits: RequestedLimits(expiresAt: clock.clock.now().addingTimeInterval(3600)),
            by: .platformOperator
        )
        let app = try await Harness.app(settings, clock: clock.clock)
        _ = try await app.test(.router) { client in
            func apiStatus() async throws -> String? {
                let list = try await client.call(.get, "/v1/manage/jwks", key: apiKey.secret)
                let data = try #require(list.json["data"] as? [[String: Any]])
                return data.first { $0["id"] as? String == jwk.id }?["status"] as? String
            }
            #expect(try await apiStatus() == "active")
            clock.advance(3601)
            // It opens no session any more (`no_jwk_registered`), so neither view may call it active.
            #expect(try await apiStatus() == "expired")
            let browser = try await CabinetKeysTests.signIn(client, services, email: email, password: password, totp: nil, at: clock.clock.now())
            let page = String(buffer: try await browser.send(client, .get, "/cabinet/keys?mode=test").body)
            let row = try Self.row(page, containing: "<code>\(jwk.thumbprint)</code>")
            #expect(Self.hasStatus(row, .expired), "\(row)")
        }
    }
}
