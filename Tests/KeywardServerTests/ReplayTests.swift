import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KeywardCore
import KeywardCrypto
import KeywardDialects
import KeywardServer
import KeywardTestSupport
import Synchronization
import Testing

/// Replays of signed requests, re-spelled or timed to slip past the ledger.
@Suite(.closesStores) struct ReplayTests {
    /// A clock that stands still where the test puts it.
    final class FrozenClock: Sendable {
        private let now: Mutex<Date>
        init(_ date: Date) { now = Mutex(date) }
        var clock: KeywardClock { KeywardClock { [self] in now.withLock { $0 } } }
    }

    static let form: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]

    /// A myPOS store that refuses replays gets the same signed form again with its Signature spelled
    /// differently (`%2B` as `+`, a trailing `%20`): it used to be accepted as new.
    @Test func aRespelledMyPOSSignatureIsStillAReplay() async throws {
        let (app, tenant) = try await Harness.appWithTenant()
        let merchantKey = try RSASigningKey.generate(bits: 2048)
        let sid = ProviderGatewayTests.freshSID()
        _ = try await app.test(.router) { client in
            let store = try await client.call(
                .post,
                "/v1/manage/stores",
                key: tenant.testKey.secret,
                json: #"{"dialect":"mypos","sid":"\#(sid)","reject_replays":true}"#
            )
            let storeID = try #require(store.json["id"] as? String)
            try await client.call(
                .post,
                "/v1/manage/stores/\(storeID)/keys",
                key: tenant.testKey.secret,
                json: try ScopeEscapeTests.json(["public_key": merchantKey.publicKey.spkiPEM])
            ) { #expect($0.status == .created, "\($0.text)") }
            let parameters = [
                ("IPCmethod", "IPCPurchase"), ("IPCVersion", "1.4"), ("SID", sid), ("KeyIndex", "1"), ("Amount", "10.00"),
                ("OrderID", UUID().uuidString),
            ]
            let signed = try MyPOSIPC.signed(parameters.map { (name: $0.0, value: $0.1) }, with: merchantKey)
            let body = FormEncoding.encode(signed)
            try await client.execute(uri: "/vmp/checkout-test", method: .post, headers: Self.form, body: ByteBuffer(string: body)) {
                #expect($0.status == .ok, "\($0.text)")
            }
            let respellings = [body.replacingOccurrences(of: "%2B", with: "+"), body + "%20", body.replacingOccurrences(of: "%2F", with: "/")]
            #expect(Set(respellings).count > 1, "the spellings differ")
            for respelled in respellings {
                try await client.execute(uri: "/vmp/checkout-test", method: .post, headers: Self.form, body: ByteBuffer(string: respelled)) {
                    $0.expectProblem(.unauthorized, "replayed_request")
                }
            }
        }
    }

    /// AliKassa stores may refuse replays too: the same signed body again is refused.
    @Test func anAliKassaStoreThatRefusesReplaysRefusesTheSameSignedBody() async throws {
        let (app, tenant) = try await Harness.appWithTenant()
        let merchantKey = try RSASigningKey.generate(bits: 2048)
        _ = try await app.test(.router) { client in
            let store = try await client.call(
                .post,
                "/v1/manage/stores",
                key: tenant.testKey.secret,
                json: #"{"dialect":"alikassa","reject_replays":true}"#
            )
            #expect(store.status == .created, "\(store.text)")
            let storeID = try #require(store.json["id"] as? String)
            let account = try #require(store.json["account"] as? String)
            try await client.call(
                .post,
                "/v1/manage/stores/\(storeID)/keys",
                key: tenant.testKey.secret,
                json: try ScopeEscapeTests.json(["public_key": merchantKey.publicKey.spkiPEM])
            ) { #expect($0.status == .created) }
            let body = #"{"amount":"10.00","order":"\#(UUID().uuidString)"}"#
            let sign = try AliKassa.sign(body: Array(body.utf8), with: merchantKey)
            let headers: HTTPFields = [.init("Account")!: account, .init("Sign")!: sign, .contentType: "application/json"]
            try await client.execute(uri: "/v1/auth/test", method: .post, headers: headers, body: ByteBuffer(string: body)) {
                #expect($0.status == .ok, "\($0.text)")
            }
            var respelled = headers
            respelled[.init("Sign")!] = " " + sign.replacingOccurrences(of: "+", with: " ") + " "
            for replay in [headers, respelled] {
                try await client.execute(uri: "/v1/auth/test", method: .post, headers: replay, body: ByteBuffer(string: body)) {
                    $0.expectProblem(.unauthorized, "replayed_request")
                }
            }
        }
    }

    /// An RFC 9421 signature created 300 s ago is still accepted during that whole second; its nonce used
    /// to expire at created + 300 and be pruned inside that second, letting a replay through.
    @Test func aNonceOutlivesTheLastSecondItsSignatureIsAccepted() async throws {
        let created = Int(Date().timeIntervalSince1970) - 300
        let frozen = FrozenClock(Date(timeIntervalSince1970: Double(created + 300) + 0.5))
        // A database of its own: on a shared PostgreSQL another test's pruner, on the real clock, may drop
        // this nonce (expired by real time) when a loaded run takes long between the two requests.
        let settings = try Harness.isolatedSettings()
        let services = try await Harness.services(settings, clock: frozen.clock)
        let tenant = try await Harness.tenant(services)
        let privateKey = Curve25519.Signing.PrivateKey()
        let signingKey = try await services.signingKeys.register(
            merchantID: tenant.merchant.id,
            mode: .test,
            name: "edge",
            pem: SignedRequestTests.pem(privateKey),
            limits: RequestedLimits(),
            by: .platformOperator
        )
        let app = try await Harness.app(settings, clock: frozen.clock)
        _ = try await app.test(.router) { client in
            let headers = try SignedRequestTests.signedHeaders(
                method: "GET",
                path: "/v1/auth/test",
                key: .ed25519(privateKey),
                keyID: signingKey.id,
                created: created
            )
            try await client.execute(uri: "/v1/auth/test", method: .get, headers: headers) { #expect($0.status == .ok, "\($0.text)") }
            try await NoncePruner(store: services.store, clock: frozen.clock, logger: Harness.logger).prune()
            try await client.execute(uri: "/v1/auth/test", method: .get, headers: headers) { $0.expectProblem(.unauthorized, "replayed_request") }
        }
    }
}
