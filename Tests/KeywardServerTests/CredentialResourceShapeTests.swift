import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KeywardCore
import KeywardCrypto
import KeywardServer
import Testing

/// The JSON of every credential answer of the management API (create, get, list, roll, revoke), field by
/// field: names, types, which are absent. Clients parse these answers, so a field that changes name or type,
/// or goes missing, breaks them; this suite is where such a change has to be made on purpose.
///
/// The common fields come from one place (`CredentialResource`). Where the kinds disagreed, they were made to
/// agree by adding fields, never by changing one: `revoked_at` on signing keys, store keys, JWKs and device
/// sessions; `expires_at` (when it stops working by time) on signing keys, store keys and JWKs; `mode` on
/// store keys; `limits` on secret keys. Each answer is also checked against its OpenAPI schema.
@Suite(.closesStores) struct CredentialResourceShapeTests {
    static let objectID = HTTPField.Name("Keyward-Object-Id")!
    static let listEnvelope = ["object": "=list", "data": "[object]", "has_more": "bool"]

    /// `shape` with `changes` applied: a value sets a field, `nil` removes it.
    static func with(_ shape: [String: String], _ changes: [String: String?]) -> [String: String] {
        var result = shape
        for (key, value) in changes { result[key] = value }
        return result
    }

    /// A 201 that names the object it made in `Keyward-Object-Id` (the audit log's target).
    static func expectCreated(_ response: TestResponse, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(response.status == .created, "\(response.text)", sourceLocation: sourceLocation)
        #expect(response.headers[objectID] != nil, sourceLocation: sourceLocation)
        #expect(response.headers[objectID] == response.json["id"] as? String, sourceLocation: sourceLocation)
    }

    static func body(_ object: [String: Any]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
    }

    @Test func secretKeys() async throws {
        let (app, tenant) = try await Harness.appWithTenant()
        let key = tenant.testKey.secret
        try await app.test(.router) { client in
            let create = try Self.body([
                "name": "ci", "permissions": ["keys.read"], "allowed_ips": ["10.0.0.0/8"], "expires_at": "2030-01-01T00:00:00Z",
            ])
            let created = try await client.call(.post, "/v1/manage/keys", key: key, json: create)
            Self.expectCreated(created)
            let active: [String: String] = [
                "object": "=secret_key", "id": "string", "name": "string", "mode": "=test", "redacted": "string", "last4": "string",
                "status": "=active", "permissions": "[string]", "allowed_ips": "[string]", "expires_at": "time", "created_at": "time",
                // Added when the kinds were made to agree: every kind with limits shows them in `limits`.
                "limits": "{allowed_ips:[string],expires_at:time,permissions:[string]}",
            ]
            #expect(JSONShape.fields(created) == Self.with(active, ["secret": "string"]))
            let id = try #require(created.json["id"] as? String)
            #expect(JSONShape.fields(try await client.call(.get, "/v1/manage/keys/\(id)", key: key)) == active)

            let rolled = try await client.call(.post, "/v1/manage/keys/\(id)/roll", key: key, json: #"{"overlap_seconds":60}"#)
            Self.expectCreated(rolled)
            #expect(JSONShape.fields(rolled) == Self.with(active, ["secret": "string", "rolled_from": "string"]))
            let rolling = try await client.call(.get, "/v1/manage/keys/\(id)", key: key)
            #expect(JSONShape.fields(rolling) == Self.with(active, ["status": "=rolling", "replaced_by": "string"]))

            let revoked = try await client.call(.post, "/v1/manage/keys/\(id)/revoke", key: key)
            #expect(revoked.status == .ok)
            #expect(JSONShape.fields(revoked) == Self.with(active, ["status": "=revoked", "replaced_by": "string", "revoked_at": "time"]))

            // The tenant's own key, the created one and its replacement: two pages of two.
            let page = try await client.call(.get, "/v1/manage/keys?limit=2", key: key)
            let (envelope, items) = JSONShape.list(page)
            #expect(envelope == Self.listEnvelope)
            #expect(page.json["has_more"] as? Bool == true)
            #expect(items.first == Self.with(active, ["rolled_from": "string"]))
            let last = try #require((page.json["data"] as? [[String: Any]])?.last?["id"] as? String)
            let next = try await client.call(.get, "/v1/manage/keys?limit=2&starting_after=\(last)", key: key)
            #expect(next.json["has_more"] as? Bool == false)
            #expect(JSONShape.list(next).items.count == 1)
            let document = try await client.call(.get, "/v1/openapi.json", key: nil)
            let shapes = [
                active, Self.with(active, ["secret": "string", "rolled_from": "string"]),
                Self.with(active, ["status": "=rolling", "replaced_by": "string"]),
                Self.with(active, ["status": "=revoked", "replaced_by": "string", "revoked_at": "time"]),
            ]
            JSONShape.expectDocumented(document, "SecretKey", shapes)
        }
    }

    @Test func paymentKeys() async throws {
        let (app, tenant) = try await Harness.appWithTenant()
        let key = tenant.testKey.secret
        try await app.test(.router) { client in
            let created = try await client.call(.post, "/v1/manage/payment-keys", key: key, json: #"{"label":"web shop"}"#)
            Self.expectCreated(created)
            let active: [String: String] = [
                "object": "=payment_key", "id": "string", "label": "string", "mode": "=test", "last4": "string", "status": "=active",
                "created_at": "time",
            ]
            #expect(JSONShape.fields(created) == Self.with(active, ["secret": "string"]))
            let id = try #require(created.json["id"] as? String)

            let rolled = try await client.call(.post, "/v1/manage/payment-keys/\(id)/roll", key: key, json: #"{"overlap_seconds":60}"#)
            Self.expectCreated(rolled)
            #expect(JSONShape.fields(rolled) == Self.with(active, ["secret": "string"]))

            let revoked = try await client.call(.post, "/v1/manage/payment-keys/\(id)/revoke", key: key)
            #expect(revoked.status == .ok)
            let gone = Self.with(active, ["status": "=revoked", "replaced_by": "string", "revoked_at": "time", "expires_at": "time"])
            #expect(JSONShape.fields(revoked) == gone)

            let list = try await client.call(.get, "/v1/manage/payment-keys", key: key)
            let (envelope, items) = JSONShape.list(list)
            #expect(envelope == Self.listEnvelope)
            #expect(list.json["has_more"] as? Bool == false)
            #expect(items == [active, gone])
            let document = try await client.call(.get, "/v1/openapi.json", key: nil)
            JSONShape.expectDocumented(document, "PaymentKey", [active, gone, Self.with(active, ["secret": "string"])])
        }
    }

    @Test func signingKeys() async throws {
        let (app, tenant) = try await Harness.appWithTenant()
        let key = tenant.testKey.secret
        let publicKey = try GeneratedKeyPair.generate(.ed25519).publicKey.spkiPEM
        try await app.test(.router) { client in
            let register = try Self.body(["name": "erp", "public_key": publicKey, "expires_at": "2030-01-01T00:00:00Z"])
            let registered = try await client.call(.post, "/v1/manage/signing-keys", key: key, json: register)
            Self.expectCreated(registered)
            let active: [String: String] = [
                "object": "=signing_key", "id": "string", "name": "string", "mode": "=test", "algorithm": "string", "public_key": "string",
                "created_at": "time", "status": "=active", "private_key_kept": "bool",
                "limits": "{allowed_ips:[],expires_at:time,permissions:[string]}",
                // Added: when it stops working by time (here its own expiry), as every kind shows it.
                "expires_at": "time",
            ]
            #expect(JSONShape.fields(registered) == active)
            let id = try #require(registered.json["id"] as? String)

            let generated = try await client.call(.post, "/v1/manage/signing-keys/generate", key: key, json: #"{"algorithm":"ed25519"}"#)
            Self.expectCreated(generated)
            let unlimited = Self.with(active, ["limits": "{allowed_ips:[],permissions:[string]}", "expires_at": nil])
            #expect(
                JSONShape.fields(generated)
                    == Self.with(
                        unlimited,
                        ["private_key": "string", "private_jwk": "{alg:string,crv:string,d:string,kid:string,kty:string,use:string,x:string}"]
                    )
            )

            let revoked = try await client.call(.post, "/v1/manage/signing-keys/\(id)/revoke", key: key)
            #expect(revoked.status == .ok)
            let gone = Self.with(active, ["status": "=revoked", "revoked_at": "time"])
            #expect(JSONShape.fields(revoked) == gone)

            let list = try await client.call(.get, "/v1/manage/signing-keys", key: key)
            let (envelope, items) = JSONShape.list(list)
            #expect(envelope == Self.listEnvelope)
            #expect(list.json["has_more"] as? Bool == false)
            #expect(items == [unlimited, gone])
            let document = try await client.call(.get, "/v1/openapi.json", key: nil)
            JSONShape.expectDocumented(document, "SigningKey", [active, unlimited, gone])
        }
    }

    @Test func jwksAndDeviceSessions() async throws {
        let (app, tenant) = try await Harness.appWithTenant()
        let key = tenant.testKey.secret
        try await app.test(.router) { client in
            let generated = try await client.call(.post, "/v1/manage/jwks/generate", key: key, json: #"{"name":"sdk"}"#)
            Self.expectCreated(generated)
            let active: [String: String] = [
                "object": "=jwk", "id": "string", "name": "string", "mode": "=test", "kid": "string", "thumbprint": "string",
                "algorithm": "string", "public_jwk": "string", "created_at": "time", "status": "=active",
                "limits": "{allowed_ips:[],permissions:[string]}",
            ]
            #expect(JSONShape.fields(generated) == Self.with(active, ["private_jwk": "string"]))
            let id = try #require(generated.json["id"] as? String)
            let privateJWK = try #require(generated.json["private_jwk"] as? String)

            let serviceCode = try #require(try await client.call(.get, "/v1/manage/service-code", key: key).json["service_code"] as? String)
            _ = try await AllianceTests.open(client, serviceCode: serviceCode, privateJWK: privateJWK)
            let sessions = try await client.call(.get, "/v1/manage/device-sessions", key: key)
            let (sessionEnvelope, sessionItems) = JSONShape.list(sessions)
            #expect(sessionEnvelope == Self.listEnvelope)
            #expect(sessions.json["has_more"] as? Bool == false)
            let session: [String: String] = [
                "object": "=device_session", "id": "string", "mode": "=test", "jwk_id": "string", "created_at": "time",
                "expires_at": "time", "status": "=active",
            ]
            #expect(sessionItems == [session])
            let device = try #require((sessions.json["data"] as? [[String: Any]])?.first?["id"] as? String)
            let ended = try await client.call(.post, "/v1/manage/device-sessions/\(device)/revoke", key: key)
            #expect(ended.status == .ok)
            #expect(JSONShape.fields(ended) == Self.with(session, ["status": "=revoked", "revoked_at": "time"]))

            let revoked = try await client.call(.post, "/v1/manage/jwks/\(id)/revoke", key: key)
            #expect(revoked.status == .ok)
            let gone = Self.with(active, ["status": "=revoked", "revoked_at": "time"])
            #expect(JSONShape.fields(revoked) == gone)
            let list = try await client.call(.get, "/v1/manage/jwks", key: key)
            let (envelope, items) = JSONShape.list(list)
            #expect(envelope == Self.listEnvelope)
            #expect(list.json["has_more"] as? Bool == false)
            #expect(items == [gone])
            let document = try await client.call(.get, "/v1/openapi.json", key: nil)
            JSONShape.expectDocumented(document, "JWK", [active, gone, Self.with(active, ["private_jwk": "string"])])
            JSONShape.expectDocumented(document, "DeviceSession", [session, Self.with(session, ["status": "=revoked", "revoked_at": "time"])])
        }
    }

    @Test func storesAndStoreKeys() async throws {
        let (app, tenant) = try await Harness.appWithTenant()
        let key = tenant.testKey.secret
        let publicKey = try RSASigningKey.generate(bits: 2048).publicKey.spkiPEM
        try await app.test(.router) { client in
            let created = try await client.call(.post, "/v1/manage/stores", key: key, json: #"{"dialect":"mypos","name":"shop"}"#)
            Self.expectCreated(created)
            let store: [String: String] = [
                "object": "=store", "id": "string", "name": "string", "mode": "=test", "dialect": "string", "sid": "string",
                "wallet_number": "string",
                "reject_replays": "bool", "created_at": "time", "keys": "[]",
            ]
            #expect(JSONShape.fields(created) == store)
            let id = try #require(created.json["id"] as? String)

            let added = try await client.call(.post, "/v1/manage/stores/\(id)/keys", key: key, json: try Self.body(["public_key": publicKey]))
            #expect(added.status == .created)
            let (addedEnvelope, addedItems) = JSONShape.list(added)
            #expect(addedEnvelope == Self.listEnvelope)
            let active: [String: String] = [
                "object": "=store_key", "id": "string", "key_index": "int", "name": "string", "algorithm": "string", "hash": "string",
                "public_key": "string", "platform_certificate": "string", "created_at": "time", "status": "=active",
                "private_key_kept": "bool", "limits": "{allowed_ips:[],permissions:[string]}",
                // Added: the mode, which every other credential shows (a store key's is its store's).
                "mode": "=test",
            ]
            #expect(addedItems == [active])

            let generated = try await client.call(.post, "/v1/manage/stores/\(id)/keys/generate", key: key, json: "{}")
            #expect(generated.status == .created)
            let rsaJWK = "{alg:string,d:string,dp:string,dq:string,e:string,kid:string,kty:string,n:string,p:string,q:string,qi:string,use:string}"
            let withPrivate = Self.with(active, ["private_key": "string", "private_key_pkcs1": "string", "private_jwk": rsaJWK])
            #expect(JSONShape.list(generated).items == [withPrivate])

            let revoked = try await client.call(.post, "/v1/manage/stores/\(id)/keys/1/revoke", key: key)
            #expect(revoked.status == .ok)
            let gone = Self.with(active, ["status": "=revoked", "revoked_at": "time"])
            #expect(JSONShape.fields(revoked) == gone)

            let fetched = try await client.call(.get, "/v1/manage/stores/\(id)", key: key)
            #expect(JSONShape.fields(fetched) == Self.with(store, ["keys": "[object]"]))
            #expect(JSONShape.items(fetched, "keys") == [gone, active])

            let list = try await client.call(.get, "/v1/manage/stores", key: key)
            let (envelope, items) = JSONShape.list(list)
            #expect(envelope == Self.listEnvelope)
            #expect(list.json["has_more"] as? Bool == false)
            #expect(items == [Self.with(store, ["keys": "[object]"])])
            let document = try await client.call(.get, "/v1/openapi.json", key: nil)
            JSONShape.expectDocumented(document, "Store", [store, Self.with(store, ["keys": "[object]"])])
            JSONShape.expectDocumented(document, "StoreKey", [active, withPrivate, gone])
        }
    }

    /// `expires_at` is the moment `status` turns `expired`, for every kind that expires by time; before, a
    /// signing key or a JWK answered `expired` with no `expires_at` beside it (only `limits.expires_at`).
    @Test func expiresAtIsWhenTheStatusTurnsExpired() async throws {
        let clock = TestClock()
        let settings = Harness.settings()
        let services = try await Harness.services(settings)
        let tenant = try await Harness.tenant(services)
        await services.store.shutdown()
        let app = try await Harness.app(settings, clock: clock.clock)
        let key = tenant.testKey.secret
        let end = Date().addingTimeInterval(300)
        let endText = end.formatted(.iso8601)
        let publicKey = try GeneratedKeyPair.generate(.ed25519).publicKey.spkiPEM
        try await app.test(.router) { client in
            let made = [
                ("keys", try await client.call(.post, "/v1/manage/keys", key: key, json: try Self.body(["expires_at": endText]))),
                (
                    "signing-keys",
                    try await client.call(
                        .post,
                        "/v1/manage/signing-keys",
                        key: key,
                        json: try Self.body(["public_key": publicKey, "expires_at": endText])
                    )
                ),
                ("jwks", try await client.call(.post, "/v1/manage/jwks/generate", key: key, json: try Self.body(["expires_at": endText]))),
            ]
            clock.advance(600)
            for (collection, created) in made {
                Self.expectCreated(created)
                #expect(created.json["expires_at"] as? String == endText, "\(collection)")
                let id = try #require(created.json["id"] as? String)
                let list = try await client.call(.get, "/v1/manage/\(collection)", key: key)
                let item = try #require((list.json["data"] as? [[String: Any]])?.first { $0["id"] as? String == id })
                #expect(item["status"] as? String == "expired", "\(collection)")
                #expect(item["expires_at"] as? String == endText, "\(collection)")
            }
        }
    }
}
