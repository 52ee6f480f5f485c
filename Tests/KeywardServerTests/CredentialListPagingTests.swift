import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KeywardCore
import KeywardCrypto
import KeywardServer
import Testing

/// Every credential list pages the same way: `?limit=` (1…1000) and `?starting_after=`, `has_more` when
/// another page follows. Before, only secret keys paged: the other lists ignored `limit`, answered at most
/// 1,000 items and said `has_more: false` even when they had cut the list short.
@Suite(.closesStores) struct CredentialListPagingTests {
    /// Makes three credentials of one kind for the caller.
    typealias MakeThree = @Sendable (any TestClientProtocol, String) async throws -> Void

    static func post(_ client: any TestClientProtocol, _ uri: String, key: String, json: String) async throws {
        let response = try await client.call(.post, uri, key: key, json: json)
        #expect(response.status == .created, "\(uri): \(response.text)")
    }

    static func ids(_ response: TestResponse) -> [String] {
        (response.json["data"] as? [[String: Any]])?.compactMap { $0["id"] as? String } ?? []
    }

    /// Three of `collection`'s items come in two pages; a bad `limit` is 400, another merchant's id as the
    /// cursor is 404 (it tells nothing about the other merchant's list).
    static func pages(_ collection: String, existing: Int = 0, make: MakeThree) async throws {
        let settings = Harness.settings()
        let services = try await Harness.services(settings)
        let tenant = try await Harness.tenant(services)
        let other = try await Harness.tenant(services)
        await services.store.shutdown()
        let app = try await Harness.app(settings)
        let key = tenant.testKey.secret
        try await app.test(.router) { client in
            let uri = "/v1/manage/\(collection)"
            try await make(client, other.testKey.secret)
            let othersID = try #require(Self.ids(try await client.call(.get, uri, key: other.testKey.secret)).first)
            try await make(client, key)
            let everything = try await client.call(.get, uri, key: key)
            #expect(everything.json["has_more"] as? Bool == false, "\(collection)")
            let all = Self.ids(everything)
            #expect(all.count == 3 + existing, "\(collection): \(everything.text)")
            #expect(!all.contains(othersID))

            let first = try await client.call(.get, "\(uri)?limit=2", key: key)
            #expect(Self.ids(first) == Array(all.prefix(2)), "\(collection)")
            #expect(first.json["has_more"] as? Bool == true, "\(collection)")
            let second = try await client.call(.get, "\(uri)?limit=2&starting_after=\(all[1])", key: key)
            #expect(Self.ids(second) == Array(all.dropFirst(2).prefix(2)), "\(collection)")
            #expect(second.json["has_more"] as? Bool == (all.count > 4), "\(collection)")

            for limit in ["0", "1001", "ten", "-1"] {
                try await client.call(.get, "\(uri)?limit=\(limit)", key: key).expectProblem(.badRequest, "invalid_limit")
            }
            try await client.call(.get, "\(uri)?starting_after=\(othersID)", key: key).expectProblem(.notFound, "resource_missing")
            // Cursors that are no id at all (a NUL byte PostgreSQL refuses in text, a long string) are 404 too, never 500.
            for cursor in ["nothing", "%00", "key_%00", String(repeating: "x", count: 5000), "%F0%9F%94%91"] {
                try await client.call(.get, "\(uri)?starting_after=\(cursor)", key: key).expectProblem(.notFound, "resource_missing")
            }
        }
    }

    @Test func secretKeys() async throws {
        // The tenant's own test key is the fourth (the other merchant's list has its own too).
        try await Self.pages("keys", existing: 1) { client, key in
            for name in ["a", "b", "c"] { try await Self.post(client, "/v1/manage/keys", key: key, json: #"{"name":"\#(name)"}"#) }
        }
    }

    @Test func paymentKeys() async throws {
        try await Self.pages("payment-keys") { client, key in
            for label in ["a", "b", "c"] { try await Self.post(client, "/v1/manage/payment-keys", key: key, json: #"{"label":"\#(label)"}"#) }
        }
    }

    @Test func signingKeys() async throws {
        try await Self.pages("signing-keys") { client, key in
            for _ in 0..<3 {
                try await Self.post(client, "/v1/manage/signing-keys/generate", key: key, json: #"{"algorithm":"ed25519"}"#)
            }
        }
    }

    @Test func jwks() async throws {
        try await Self.pages("jwks") { client, key in
            for _ in 0..<3 { try await Self.post(client, "/v1/manage/jwks/generate", key: key, json: "{}") }
        }
    }

    @Test func stores() async throws {
        try await Self.pages("stores") { client, key in
            for _ in 0..<3 { try await Self.post(client, "/v1/manage/stores", key: key, json: #"{"dialect":"alikassa"}"#) }
        }
    }

    @Test func deviceSessions() async throws {
        try await Self.pages("device-sessions") { client, key in
            let generated = try await client.call(.post, "/v1/manage/jwks/generate", key: key, json: "{}")
            let privateJWK = try #require(generated.json["private_jwk"] as? String)
            let code = try #require(try await client.call(.get, "/v1/manage/service-code", key: key).json["service_code"] as? String)
            for _ in 0..<3 { _ = try await AllianceTests.open(client, serviceCode: code, privateJWK: privateJWK) }
        }
    }
}
