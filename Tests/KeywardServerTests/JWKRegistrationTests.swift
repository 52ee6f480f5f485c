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
