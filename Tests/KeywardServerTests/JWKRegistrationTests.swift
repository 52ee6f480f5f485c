import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KeywardCore
import KeywardCrypto
import KeywardServer
import Testing

/// `POST /v1/manage/jwks` takes the JWK as the JSON object it is, and still as a string holding it.
@Suite(.closesStores) struct JWKRegistrationTests {
    @Test func aJWKIsRegisteredAsAnObjectOrAsTextAndJunkIsRefused() async throws {
        let (app, tenant) = try await Harness.appWithTenant()
        _ = try await app.test(.router) { client in
            func register(_ jwk: Any) async throws -> TestResponse {
                let body = String(decoding: try JSONSerialization.data(withJSONObject: ["name": "bank", "jwk": jwk]), as: UTF8.self)
                return try await client.call(.post, "/v1/manage/jwks", key: tenant.testKey.secret, json: body)
            }
            let first = JWK(material: .ecPrivate(.generate(.p384))).publicJWK
            let object = try #require(try JSONSerialization.jsonObject(with: Data(first.json().utf8)) as? [String: Any])
            let made = try await register(object)
            #expect(made.status == .created, "\(made.text)")
            #expect(made.json["thumbprint"] as? String == first.thumbprint)
            // The same key as text is the same key: refused as a duplicate, which proves both spellings meet.
            try await register(first.json()).expectProblem(.conflict, "jwk_exists")
            let second = JWK(material: .ecPrivate(.generate(.p384))).publicJWK
            #expect(try await register(second.json()).status == .created)
            // An object that is not a usable JWK, and a JWK that is neither object nor text, get their codes.
            try await register(["kty": "EC", "crv": "P-384"]).expectProblem(.badRequest, "invalid_jwk")
            #expect(try await register([1, 2, 3]).status == .badRequest)
            #expect(try await register(42).status == .badRequest)
        }
    }
}

/// The test-mode cipher helper encrypts to a JWK the merchant can still use: never to an expired one.
@Suite(.closesStores) struct CipherHelperJWKTests {
    @Test func encryptingWithoutABodyUsesAnUnexpiredJWKOrSaysThereIsNone() async throws {
        let clock = TestClock()
        let settings = Harness.settings()
        let services = try await Harness.services(settings, clock: clock.clock)
        let tenant = try await Harness.tenant(services)
        let lasting = JWK(material: .ecPrivate(.generate(.p384)))
        let brief = JWK(material: .ecPrivate(.generate(.p384)))
        _ = try await services.jweKeys.register(
            merchantID: tenant.merchant.id,
            mode: .test,
            name: "lasting",
            jwk: lasting.publicJWK.json(),
            limits: RequestedLimits(expiresAt: clock.clock.now().addingTimeInterval(7200)),
            by: .platformOperator
        )
        // The one that expires soon is the newest, which is the one a helper ignoring expiry would pick.
        clock.advance(1)
        _ = try await services.jweKeys.register(
            merchantID: tenant.merchant.id,
            mode: .test,
            name: "brief",
            jwk: brief.publicJWK.json(),
            limits: RequestedLimits(expiresAt: clock.clock.now().addingTimeInterval(3600)),
            by: .platformOperator
        )
        let app = try await Harness.app(settings, clock: clock.clock)
        _ = try await app.test(.router) { client in
            func encrypt() async throws -> TestResponse {
                try await client.execute(
                    uri: "/cipher/encrypt_by_jwk?message=hello",
                    method: .post,
                    headers: [.authorization: "Bearer \(tenant.testKey.secret)"],
                    body: nil
                ) { $0 }
            }
            clock.advance(3601)
            for _ in 0..<3 {
                let jwe = try #require(try await encrypt().json["jwe"] as? String)
                #expect(try JWE.decrypt(jwe, with: lasting).plaintext == Array("hello".utf8), "encrypted to the JWK that still works")
            }
            clock.advance(3600)
            try await encrypt().expectProblem(.notFound, "resource_missing")
        }
    }
}
