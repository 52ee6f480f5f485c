import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KeywardCore
import KeywardCrypto
import KeywardServer
import KeywardTestSupport
import Testing

/// Rolling and revoking from the Keys page (both confirmed first; a live roll takes a fresh TOTP code),
/// and the test-request helper that explains why a key or a signed request is refused.
@Suite(.closesStores) struct CabinetKeyActionsTests {
    typealias Browser = CabinetTests.Browser

    /// A member of `role` with TOTP turned on, and the authenticator that makes their codes.
    static func enrolled(
        _ services: KeywardServices,
        role: DefaultRole,
        clock: TestClock
    ) async throws -> (email: String, password: String, merchant: Merchant, totp: TOTP) {
        let (email, password, merchant) = try await CabinetTests.member(services, role: role)
        let userID = try await services.accounts.login(email: email, password: password, address: "192.0.2.1").id
        let (secret, _) = try await services.accounts.beginTOTP(userID: userID)
        let totp = TOTP(secret: try #require(Base32.decode(secret)))
        _ = try await services.accounts.confirmTOTP(userID: userID, code: totp.code(at: clock.clock.now()))
        clock.advance(30)
        return (email, password, merchant, totp)
    }

    static func secret(_ response: TestResponse) throws -> String {
        let html = String(buffer: response.body)
        return try #require(html.range(of: #"<code id="secret">"#).map { String(html[$0.upperBound...].prefix { $0 != "<" }) })
    }

    @Test func revokingAsksFirstAndRollingKeepsTheOldKeyForTheChosenOverlap() async throws {
        let clock = TestClock()
        let settings = Harness.settings()
        let services = try await Harness.services(settings, clock: clock.clock)
        let (email, password, merchant) = try await CabinetTests.member(services, role: .developer)
        // A key within the Developer's role (an unrestricted one would hand them more on rolling: see ScopeEscapeTests).
        let key = try await services.secretKeys.create(
            merchantID: merchant.id,
            mode: .test,
            options: .init(name: "backend", permissions: ["payments.write"]),
            by: .platformOperator
        )
        let app = try await Harness.app(settings, clock: clock.clock)
        _ = try await app.test(.router) { client in
            let browser = try await CabinetKeysTests.signIn(client, services, email: email, password: password, totp: nil, at: clock.clock.now())
            let list = String(buffer: try await browser.send(client, .get, "/cabinet/keys?mode=test").body)
            #expect(list.contains("/cabinet/keys/\(key.info.id)/revoke?mode=test") && list.contains("/cabinet/keys/\(key.info.id)/roll?mode=test"))

            // The confirmation page changes nothing by itself.
            let confirm = try await browser.send(client, .get, "/cabinet/keys/\(key.info.id)/revoke?mode=test")
            #expect(confirm.status == .ok && String(buffer: confirm.body).contains("stops working at once"))
            _ = try await client.call(.get, "/v1/auth/test", key: key.secret) { #expect($0.status == .ok) }
            #expect(try await browser.send(client, .get, "/cabinet/keys/\(key.info.id)/delete?mode=test").status == .notFound)

            // Roll with a 1-hour overlap: both keys work until the hour is over.
            let csrf = try #require(Browser.csrf(String(buffer: confirm.body)))
            let noChoice = try await browser.send(
                client,
                .post,
                "/cabinet/keys/\(key.info.id)/roll",
                form: ["mode": "test", "csrf": csrf, "overlap": "999"]
            )
            #expect(noChoice.status == .badRequest)
            let rolled = try await browser.send(
                client,
                .post,
                "/cabinet/keys/\(key.info.id)/roll",
                form: ["mode": "test", "csrf": csrf, "overlap": "3600"]
            )
            #expect(rolled.status == .created && String(buffer: rolled.body).contains("keeps working until"))
            let replacement = try Self.secret(rolled)
            _ = try await client.call(.get, "/v1/auth/test", key: key.secret) { #expect($0.status == .ok) }
            _ = try await client.call(.get, "/v1/auth/test", key: replacement) { #expect($0.status == .ok) }
            let again = try await browser.send(
                client,
                .post,
                "/cabinet/keys/\(key.info.id)/roll",
                form: ["mode": "test", "csrf": csrf, "overlap": "0"]
            )
            #expect(again.status == .conflict && String(buffer: again.body).contains("already rolled"))
            clock.advance(3601)
            _ = try await client.call(.get, "/v1/auth/test", key: key.secret) { $0.expectProblem(.unauthorized, "key_expired") }
            _ = try await client.call(.get, "/v1/auth/test", key: replacement) { #expect($0.status == .ok) }
            let actions = try await services.audit.list(merchantID: merchant.id).map(\.action)
            #expect(actions.contains("secret_key.roll"))
        }
    }

    @Test func rollingALiveKeyTakesAFreshSecondFactorCode() async throws {
        let clock = TestClock()
        let settings = Harness.settings()
        let services = try await Harness.services(settings, clock: clock.clock)
        let (email, password, merchant, totp) = try await Self.enrolled(services, role: .administrator, clock: clock)
        let key = try await services.secretKeys.create(
            merchantID: merchant.id,
            mode: .live,
            options: .init(name: "live backend"),
            by: .platformOperator
        )
        let app = try await Harness.app(settings, clock: clock.clock)
        _ = try await app.test(.router) { client in
            // The moment of sign-in, fixed: under load the wall clock may cross a 30-second step before the roll.
            let signedInAt = clock.clock.now()
            let browser = try await CabinetKeysTests.signIn(client, services, email: email, password: password, totp: totp, at: signedInAt)
            let confirm = String(buffer: try await browser.send(client, .get, "/cabinet/keys/\(key.info.id)/roll?mode=live").body)
            #expect(confirm.contains(#"name="code""#))
            let csrf = try #require(Browser.csrf(confirm))
            // The code just used to sign in is spent; a wrong one is refused; neither rolls the key.
            for code in [totp.code(at: signedInAt), "000000"] {
                let refused = try await browser.send(
                    client,
                    .post,
                    "/cabinet/keys/\(key.info.id)/roll",
                    form: ["mode": "live", "csrf": csrf, "overlap": "0", "code": code]
                )
                #expect(refused.status == .unauthorized && String(buffer: refused.body).contains("wrong or was used"))
            }
            #expect(try await services.secretKeys.get(merchantID: merchant.id, mode: .live, id: key.info.id).replacedBy == nil)
            clock.advance(30)
            let rolled = try await browser.send(
                client,
                .post,
                "/cabinet/keys/\(key.info.id)/roll",
                form: ["mode": "live", "csrf": csrf, "overlap": "0", "code": totp.code(at: clock.clock.now())]
            )
            #expect(rolled.status == .created)
            #expect(try Self.secret(rolled).hasPrefix("kw_live_"))
            _ = try await client.call(.get, "/v1/auth/test", key: key.secret) { $0.expectProblem(.unauthorized, "key_expired") }
        }
    }

    @Test func theTestRequestHelperExplainsWhatTheGatewayWouldAnswer() async throws {
        let settings = Harness.settings()
        let services = try await Harness.services(settings)
        let (email, password, merchant) = try await CabinetTests.member(services, role: .developer)
        let good = try await services.secretKeys.create(merchantID: merchant.id, mode: .test, options: .init(name: "good"), by: .platformOperator)
        let revoked = try await services.secretKeys.create(merchantID: merchant.id, mode: .test, options: .init(name: "old"), by: .platformOperator)
        _ = try await services.secretKeys.revoke(merchantID: merchant.id, mode: .test, id: revoked.info.id)
        let other = try await services.merchants.create(name: "Other")
        let foreign = try await services.secretKeys.create(merchantID: other.id, mode: .test, options: .init(name: "theirs"), by: .platformOperator)
        let app = try await Harness.app(settings)
        _ = try await app.test(.router) { client in
            let browser = try await CabinetKeysTests.signIn(client, services, email: email, password: password, totp: nil, at: Date())
            let page = String(buffer: try await browser.send(client, .get, "/cabinet/keys/check?mode=test").body)
            #expect(
                page.contains("curl -H &quot;Authorization: Bearer $KEYWARD_SECRET_KEY&quot;")
                    || page.contains(#"curl -H "Authorization: Bearer $KEYWARD_SECRET_KEY""#)
            )
            let csrf = try #require(Browser.csrf(page))
            func check(_ form: [String: String]) async throws -> String {
                String(
                    buffer: try await browser.send(
                        client,
                        .post,
                        "/cabinet/keys/check",
                        form: form.merging(["csrf": csrf, "mode": "test"]) { a, _ in a }
                    ).body
                )
            }
            let works = try await check(["key": "Authorization: Bearer \(good.secret)\n"])
            #expect(works.contains("It works") && works.contains(good.info.id) && works.contains("line breaks"))
            #expect(!works.contains(good.secret))
            #expect(try await check(["key": revoked.secret]).contains("key_revoked"))
            let truncated = try await check(["key": String(good.secret.dropLast(3))])
            #expect(truncated.contains("invalid_key") && truncated.contains("truncated"))
            #expect(try await check(["key": foreign.secret]).contains("belongs to another merchant"))
            // A signed myPOS form for a store this merchant does not have: the first failing step, named.
            let diagnosis = try await check(["dialect": "mypos", "body": "IPCmethod=IPCPurchase&SID=000000&KeyIndex=1&Signature=AAAA"])
            #expect(diagnosis.contains("Refused") && diagnosis.contains("unknown_store") && diagnosis.contains("SID &#39;000000&#39;"))
        }
    }

    @Test func paymentAndSigningKeysAreMadeShownOnceListedAndRevoked() async throws {
        let settings = Harness.settings()
        let services = try await Harness.services(settings)
        let (email, password, merchant) = try await CabinetTests.member(services, role: .developer)
        let other = try await services.merchants.create(name: "Other")
        let theirs = try await services.paymentKeys.create(merchantID: other.id, mode: .test, label: "theirs", by: .platformOperator)
        let app = try await Harness.app(settings)
        _ = try await app.test(.router) { client in
            let browser = try await CabinetKeysTests.signIn(client, services, email: email, password: password, totp: nil, at: Date())
            let keysPage = String(buffer: try await browser.send(client, .get, "/cabinet/keys?mode=test").body)
            #expect(keysPage.contains("Payment keys (HMAC)") && keysPage.contains("Service code:"))
            let csrf = try #require(Browser.csrf(keysPage))

            let payment = try await browser.send(
                client,
                .post,
                "/cabinet/credentials/payment-keys",
                form: ["csrf": csrf, "mode": "test", "name": "<i>checkout</i>"]
            )
            #expect(payment.status == .created)
            let secret = try Self.secret(payment)
            let listed = String(buffer: try await browser.send(client, .get, "/cabinet/keys?mode=test").body)
            #expect(!listed.contains(secret) && listed.contains("&lt;i&gt;checkout") && listed.contains(String(secret.suffix(4))))
            // Roll it with a one-hour overlap: a new secret, shown once; both work for the hour.
            let original = try #require(try await services.paymentKeys.list(merchantID: merchant.id, mode: .test).first)
            #expect(try await browser.send(client, .get, "/cabinet/credentials/payment-keys/\(original.id)/roll?mode=test").status == .ok)
            let rolled = try await browser.send(
                client,
                .post,
                "/cabinet/credentials/payment-keys/\(original.id)/roll",
                form: ["csrf": csrf, "mode": "test", "overlap": "3600"]
            )
            #expect(rolled.status == .created && String(buffer: rolled.body).contains("keeps working until"))
            #expect(try Self.secret(rolled) != secret)
            #expect(try await services.paymentKeys.list(merchantID: merchant.id, mode: .test).count == 2)
            let info = try #require(try await services.paymentKeys.list(merchantID: merchant.id, mode: .test).first { $0.id != original.id })
            #expect(try await browser.send(client, .get, "/cabinet/credentials/payment-keys/\(info.id)/revoke?mode=test").status == .ok)
            #expect(try await services.paymentKeys.list(merchantID: merchant.id, mode: .test).first { $0.id == info.id }?.revokedAt == nil)
            _ = try await browser.send(client, .post, "/cabinet/credentials/payment-keys/\(info.id)/revoke", form: ["csrf": csrf, "mode": "test"])
            #expect(try await services.paymentKeys.list(merchantID: merchant.id, mode: .test).first { $0.id == info.id }?.revokedAt != nil)
            // Another merchant's payment key: not found, untouched.
            #expect(try await browser.send(client, .get, "/cabinet/credentials/payment-keys/\(theirs.info.id)/revoke?mode=test").status == .notFound)
            #expect(
                try await browser.send(
                    client,
                    .post,
                    "/cabinet/credentials/payment-keys/\(theirs.info.id)/revoke",
                    form: ["csrf": csrf, "mode": "test"]
                ).status == .notFound
            )
            #expect(try await services.paymentKeys.list(merchantID: other.id, mode: .test).first?.revokedAt == nil)

            // A signing key pair: the private key once (openssl reads it), Keyward keeps the public key.
            let generated = try await browser.send(
                client,
                .post,
                "/cabinet/credentials/signing-keys",
                form: ["csrf": csrf, "mode": "test", "name": "server", "algorithm": "ec-p256"]
            )
            #expect(generated.status == .created)
            let pem = try Self.secret(generated).replacingOccurrences(of: "&#43;", with: "+").replacingOccurrences(of: "&#x2F;", with: "/")
            #expect(pem.hasPrefix("-----BEGIN PRIVATE KEY-----"))
            #expect(try await Shell.runDetached("/usr/bin/openssl", ["pkey", "-noout", "-text"], stdin: Data(pem.utf8)).contains("P-256"))
            let signing = try #require(try await services.signingKeys.list(merchantID: merchant.id, mode: .test).first)
            #expect(signing.algorithm.contains("256") && !signing.privateKeyKept)
            let bad = try await browser.send(
                client,
                .post,
                "/cabinet/credentials/signing-keys",
                form: ["csrf": csrf, "mode": "test", "algorithm": "dsa"]
            )
            #expect(bad.status == .badRequest && String(buffer: bad.body).contains("ec-p256"))
            #expect(
                try await browser.send(client, .post, "/cabinet/credentials/payment-keys", form: ["csrf": csrf, "mode": "live"]).status == .forbidden
            )
            let actions = try await services.audit.list(merchantID: merchant.id).map(\.action)
            #expect(
                actions.contains("payment_key.create") && actions.contains("payment_key.revoke")
                    && actions.contains("signing_key.generate")
            )
        }
    }

    @Test func ownPublicKeysAndJWKsAreSavedAndJWKsGenerated() async throws {
        let keys = try KeyFixtures()
        try keys.openssl(["genpkey", "-algorithm", "ed25519", "-out", keys.path("ed.key")])
        try keys.openssl(["pkey", "-in", keys.path("ed.key"), "-pubout", "-out", keys.path("ed.pub")])
        let settings = Harness.settings()
        let services = try await Harness.services(settings)
        let (email, password, merchant) = try await CabinetTests.member(services, role: .developer)
        let app = try await Harness.app(settings)
        _ = try await app.test(.router) { client in
            let browser = try await CabinetKeysTests.signIn(client, services, email: email, password: password, totp: nil, at: Date())
            let csrf = try #require(Browser.csrf(String(buffer: try await browser.send(client, .get, "/cabinet/keys?mode=test").body)))
            let saved = try await browser.send(
                client,
                .post,
                "/cabinet/credentials/signing-keys/register",
                form: ["csrf": csrf, "mode": "test", "name": "edge", "public_key": try keys.read("ed.pub")]
            )
            #expect(saved.status == .seeOther)
            #expect(try await services.signingKeys.list(merchantID: merchant.id, mode: .test).first?.name == "edge")
            let junk = try await browser.send(
                client,
                .post,
                "/cabinet/credentials/signing-keys/register",
                form: ["csrf": csrf, "mode": "test", "public_key": "not a key"]
            )
            #expect(junk.status == .badRequest && String(buffer: junk.body).contains("The public key was not saved"))

            let generated = try await browser.send(
                client,
                .post,
                "/cabinet/credentials/jwks/generate",
                form: ["csrf": csrf, "mode": "test", "name": "bank sdk"]
            )
            #expect(generated.status == .created)
            let json = try Self.secret(generated).replacingOccurrences(of: "&quot;", with: "\"")
            let privateJWK = try JWK.parse(json, allowPrivate: true)
            let stored = try #require(try await services.jweKeys.list(merchantID: merchant.id, mode: .test).first)
            #expect(stored.thumbprint == privateJWK.publicJWK.thumbprint)
            // A public JWK pasted in is saved; a private one is refused (Keyward never keeps `d`).
            let refused = try await browser.send(
                client,
                .post,
                "/cabinet/credentials/jwks/register",
                form: ["csrf": csrf, "mode": "test", "jwk": json]
            )
            #expect(refused.status == .badRequest && String(buffer: refused.body).contains("The JWK was not saved"))
            let other = JWK(material: .ecPrivate(.generate(.p384)), kid: "second", use: "enc", alg: "ECDH-ES+A256KW")
            let registered = try await browser.send(
                client,
                .post,
                "/cabinet/credentials/jwks/register",
                form: ["csrf": csrf, "mode": "test", "name": "second", "jwk": other.publicJWK.json()]
            )
            #expect(registered.status == .seeOther)
            #expect(try await services.jweKeys.list(merchantID: merchant.id, mode: .test).count == 2)
        }
    }

    @Test func storesAreCreatedAndGetGeneratedOrSavedKeyIndexes() async throws {
        let keys = try KeyFixtures()
        try keys.openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", keys.path("own.key")])
        try keys.openssl(["pkey", "-in", keys.path("own.key"), "-pubout", "-out", keys.path("own.pub")])
        let settings = Harness.settings()
        let services = try await Harness.services(settings)
        let (email, password, merchant) = try await CabinetTests.member(services, role: .developer)
        let app = try await Harness.app(settings)
        _ = try await app.test(.router) { client in
            let browser = try await CabinetKeysTests.signIn(client, services, email: email, password: password, totp: nil, at: Date())
            let csrf = try #require(Browser.csrf(String(buffer: try await browser.send(client, .get, "/cabinet/keys?mode=test").body)))
            let created = try await browser.send(
                client,
                .post,
                "/cabinet/credentials/stores",
                form: ["csrf": csrf, "mode": "test", "dialect": "mypos", "name": "<Web> shop"]
            )
            #expect(created.status == .seeOther)
            let store = try #require(try await services.stores.list(merchantID: merchant.id, mode: .test).first)
            let page = String(buffer: try await browser.send(client, .get, "/cabinet/keys?mode=test").body)
            #expect(
                page.contains("&lt;Web&gt; shop") && page.contains(store.externalID)
                    && page.contains("/cabinet/credentials/stores/\(store.id)/keys/generate")
            )
            #expect(
                try await browser.send(client, .post, "/cabinet/credentials/stores", form: ["csrf": csrf, "mode": "test", "dialect": "paypal"]).status
                    == .badRequest
            )

            // A generated index: the private key once (openssl reads it), its public half stored under index 1.
            let generated = try await browser.send(
                client,
                .post,
                "/cabinet/credentials/stores/\(store.id)/keys/generate",
                form: ["csrf": csrf, "mode": "test"]
            )
            #expect(generated.status == .created && String(buffer: generated.body).contains("key index 1"))
            let pem = try Self.secret(generated)
            #expect(try await Shell.runDetached("/usr/bin/openssl", ["pkey", "-noout", "-check"], stdin: Data(pem.utf8)).contains("valid"))
            let first = try #require(try await services.stores.keys(storeID: store.id).first)
            let generatedPublic = try RSASigningKey(pem: pem).publicKey.spkiPEM
            #expect(first.keyIndex == 1 && first.publicKeyPEM == generatedPublic)
            // Your own public key: index 2; junk is explained; another merchant's store is not found.
            let saved = try await browser.send(
                client,
                .post,
                "/cabinet/credentials/stores/keys",
                form: ["csrf": csrf, "mode": "test", "store": store.id, "public_key": try keys.read("own.pub")]
            )
            #expect(saved.status == .seeOther)
            #expect(try await services.stores.keys(storeID: store.id).map(\.keyIndex) == [1, 2])
            let junk = try await browser.send(
                client,
                .post,
                "/cabinet/credentials/stores/keys",
                form: ["csrf": csrf, "mode": "test", "store": store.id, "public_key": "junk"]
            )
            #expect(junk.status == .badRequest && String(buffer: junk.body).contains("The public key was not saved"))
            // The platform certificate of an index downloads; revoking an index asks first.
            let certificate = try await browser.send(client, .get, "/cabinet/credentials/stores/\(store.id)/keys/1/platform-certificate?mode=test")
            #expect(certificate.status == .ok && String(buffer: certificate.body).hasPrefix("-----BEGIN CERTIFICATE-----"))
            #expect(certificate.headers[.contentDisposition]?.contains("attachment") == true)
            #expect(try await browser.send(client, .get, "/cabinet/credentials/stores/\(store.id)/keys/1/revoke?mode=test").status == .ok)
            #expect(try await services.stores.keys(storeID: store.id).first?.revokedAt == nil)
            _ = try await browser.send(client, .post, "/cabinet/credentials/stores/\(store.id)/keys/1/revoke", form: ["csrf": csrf, "mode": "test"])
            #expect(try await services.stores.keys(storeID: store.id).first?.revokedAt != nil)
            #expect(try await browser.send(client, .get, "/cabinet/credentials/stores/\(store.id)/keys/abc/revoke?mode=test").status == .notFound)
            let other = try await services.merchants.create(name: "Other")
            let theirs = try await services.stores.create(merchantID: other.id, mode: .test, NewStore(name: "theirs", dialect: .mypos))
            #expect(
                try await browser.send(client, .post, "/cabinet/credentials/stores/\(theirs.id)/keys/generate", form: ["csrf": csrf, "mode": "test"])
                    .status == .notFound
            )
            #expect(try await services.stores.keys(storeID: theirs.id).isEmpty)
        }
    }
}
