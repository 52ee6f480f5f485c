import Foundation
import Hummingbird
import HummingbirdTesting
import KeywardCore
import KeywardCrypto
import KeywardDialects
import KeywardServer
import Testing

@Suite(.closesStores) struct ManagementTests {
    @Test func createListRollRevokeSecretKeys() async throws {
        let (app, tenant) = try await Harness.appWithTenant()
        _ = try await app.test(.router) { client in
            let admin = tenant.testKey.secret
            let created = try await client.call(
                .post,
                "/v1/manage/keys",
                key: admin,
                json: """
                    {"name":"checkout","expires_at":"2030-01-01T00:00:00Z","permissions":["payments.read"],"allowed_ips":["203.0.113.0/24","2001:db8::/32"]}
                    """
            )
            #expect(created.status == .created, "\(created.text)")
            let secret = try #require(created.json["secret"] as? String)
            let id = try #require(created.json["id"] as? String)
            #expect(secret.hasPrefix("kw_test_"))
            #expect(created.json["allowed_ips"] as? [String] == ["203.0.113.0/24", "2001:db8::/32"])
            #expect(created.json["expires_at"] as? String == "2030-01-01T00:00:00Z")
            #expect(created.json["status"] as? String == "active")

            // The secret is shown once: never in a listing or a fetch.
            let listing = try await client.call(.get, "/v1/manage/keys", key: admin)
            #expect(!listing.text.contains(secret))
            let ids = (listing.json["data"] as? [[String: Any]])?.compactMap { $0["id"] as? String } ?? []
            #expect(ids.first == id, "newest first")
            #expect(Set(ids) == [id, tenant.testKey.info.id], "only this merchant's test keys")
            let fetched = try await client.call(.get, "/v1/manage/keys/\(id)", key: admin)
            #expect(fetched.json["redacted"] as? String == "kw_test_…" + String(secret.suffix(4)))
            #expect(fetched.json["secret"] == nil)

            // Roll with an overlap: both keys work; the new one keeps name, permissions and allowlist.
            let rolled = try await client.call(.post, "/v1/manage/keys/\(id)/roll", key: admin, json: #"{"overlap_seconds":3600}"#)
            #expect(rolled.status == .created)
            #expect(rolled.json["name"] as? String == "checkout")
            #expect(rolled.json["permissions"] as? [String] == ["payments.read"])
            #expect(rolled.json["rolled_from"] as? String == id)
            let old = try await client.call(.get, "/v1/manage/keys/\(id)", key: admin)
            #expect(old.json["status"] as? String == "rolling")
            #expect(old.json["replaced_by"] as? String == rolled.json["id"] as? String)
            try await client.call(.post, "/v1/manage/keys/\(id)/roll", key: admin, json: "{}") { $0.expectProblem(.conflict, "key_already_rolled") }

            // Roll with no overlap: the old key stops at once and points at its replacement.
            let another = try await client.call(.post, "/v1/manage/keys", key: admin, json: #"{"name":"batch"}"#)
            let anotherID = try #require(another.json["id"] as? String)
            let anotherSecret = try #require(another.json["secret"] as? String)
            let replacement = try await client.call(.post, "/v1/manage/keys/\(anotherID)/roll", key: admin, json: #"{"overlap_seconds":0}"#)
            try await client.call(.get, "/v1/auth/test", key: anotherSecret) { response in
                response.expectProblem(.unauthorized, "key_expired", notContaining: anotherSecret)
                #expect((response.json["detail"] as? String)?.contains(replacement.json["id"] as? String ?? "?") == true)
            }
            try await client.call(.get, "/v1/auth/test", key: replacement.json["secret"] as? String) { #expect($0.status == .ok) }

            // Revoke is idempotent.
            for _ in 0..<2 {
                try await client.call(.post, "/v1/manage/keys/\(anotherID)/revoke", key: admin) { response in
                    #expect(response.status == .ok)
                    #expect(response.json["status"] as? String == "revoked")
                }
            }
        }
    }

    @Test func listingPagesWithLimitAndCursor() async throws {
        let settings = Harness.settings()
        let services = try await Harness.services(settings)
        let tenant = try await Harness.tenant(services)
        _ = try await services.secretKeys.createMany(merchantID: tenant.merchant.id, mode: .test, name: "bulk", count: 7)
        await services.store.shutdown()
        let app = try await Harness.app(settings)
        _ = try await app.test(.router) { client in
            var seen: [String] = []
            var cursor: String?
            repeat {
                let query = "/v1/manage/keys?limit=3" + (cursor.map { "&starting_after=\($0)" } ?? "")
                let page = try await client.call(.get, query, key: tenant.testKey.secret)
                let ids = (page.json["data"] as? [[String: Any]])?.compactMap { $0["id"] as? String } ?? []
                seen += ids
                cursor = (page.json["has_more"] as? Bool) == true ? ids.last : nil
            } while cursor != nil
            #expect(seen.count == 8)
            #expect(Set(seen).count == 8)
            try await client.call(.get, "/v1/manage/keys?limit=0", key: tenant.testKey.secret) { $0.expectProblem(.badRequest, "invalid_limit") }
            try await client.call(.get, "/v1/manage/keys?limit=abc", key: tenant.testKey.secret) { $0.expectProblem(.badRequest, "invalid_limit") }
        }
    }

    @Test func testAndLiveNeverSeeEachOther() async throws {
        let settings = Harness.settings()
        let services = try await Harness.services(settings)
        let tenant = try await Harness.tenant(services)
        let other = try await Harness.tenant(services)
        await services.store.shutdown()
        let app = try await Harness.app(settings)
        _ = try await app.test(.router) { client in
            let liveList = try await client.call(.get, "/v1/manage/keys", key: tenant.liveKey.secret)
            let liveIDs = (liveList.json["data"] as? [[String: Any]])?.compactMap { $0["id"] as? String }
            #expect(liveIDs == [tenant.liveKey.info.id])
            // A test key cannot read, roll or revoke a live key of its own merchant, nor another merchant's key.
            for target in [tenant.liveKey.info.id, other.testKey.info.id] {
                try await client.call(.get, "/v1/manage/keys/\(target)", key: tenant.testKey.secret) {
                    $0.expectProblem(.notFound, "resource_missing")
                }
                try await client.call(.post, "/v1/manage/keys/\(target)/revoke", key: tenant.testKey.secret) {
                    $0.expectProblem(.notFound, "resource_missing")
                }
                try await client.call(.post, "/v1/manage/keys/\(target)/roll", key: tenant.testKey.secret, json: "{}") {
                    $0.expectProblem(.notFound, "resource_missing")
                }
            }
            try await client.call(.get, "/v1/auth/test", key: tenant.liveKey.secret) { #expect($0.status == .ok) }
            try await client.call(.get, "/v1/auth/test", key: other.testKey.secret) { #expect($0.status == .ok) }
            // Keys created with a live key are live.
            let created = try await client.call(.post, "/v1/manage/keys", key: tenant.liveKey.secret, json: "{}")
            #expect((created.json["secret"] as? String)?.hasPrefix("kw_live_") == true)
        }
    }

    @Test func badInputGetsClearCodes() async throws {
        let (app, tenant) = try await Harness.appWithTenant()
        let cases: [(String, HTTPResponse.Status, String)] = [
            (#"{"name":"x","expire_at":"2099-01-01T00:00:00Z"}"#, .badRequest, "unknown_field"),
            (#"{"name":42}"#, .badRequest, "invalid_field"),
            (#"{"permissions":"payments.read"}"#, .badRequest, "invalid_field"),
            (#"{"permissions":["Payments Read"]}"#, .badRequest, "invalid_permissions"),
            (#"{"allowed_ips":["10.0.0.0/33"]}"#, .badRequest, "invalid_cidr"),
            (#"{"allowed_ips":["not-an-ip"]}"#, .badRequest, "invalid_cidr"),
            (#"{"allowed_ips":["1.2.3.4/"]}"#, .badRequest, "invalid_cidr"),
            (#"{"expires_at":"tomorrow"}"#, .badRequest, "invalid_date"),
            (#"{"expires_at":"2001-01-01T00:00:00Z"}"#, .badRequest, "invalid_date"),
            (#"{"name":""}"#, .badRequest, "invalid_field"),
            (#"{"name":"a\u0000b"}"#, .badRequest, "invalid_field"),
            ("[1,2]", .badRequest, "invalid_json"),
            ("{not json", .badRequest, "invalid_json"),
            ("{\"name\":\"" + String(repeating: "x", count: 70_000) + "\"}", .contentTooLarge, "body_too_large"),
        ]
        _ = try await app.test(.router) { client in
            for (body, status, code) in cases {
                try await client.call(.post, "/v1/manage/keys", key: tenant.testKey.secret, json: body) { $0.expectProblem(status, code) }
            }
            try await client.call(.post, "/v1/manage/keys", key: tenant.testKey.secret, json: "{}", headers: [.contentType: "text/plain"]) {
                $0.expectProblem(.unsupportedMediaType, "unsupported_media_type")
            }
            for overlap in ["-1", "604801", "\"1h\"", "1.5"] {
                try await client.call(
                    .post,
                    "/v1/manage/keys/\(tenant.testKey.info.id)/roll",
                    key: tenant.testKey.secret,
                    json: "{\"overlap_seconds\":\(overlap)}"
                ) { response in
                    #expect(response.status == .badRequest, "overlap \(overlap)")
                }
            }
            try await client.call(.get, "/v1/manage/keys/key_doesnotexist", key: tenant.testKey.secret) {
                $0.expectProblem(.notFound, "resource_missing")
            }
            try await client.call(.get, "/v1/manage/nothing-here", key: tenant.testKey.secret) { $0.expectProblem(.notFound, "not_found") }
            // Nothing above created a key.
            let list = try await client.call(.get, "/v1/manage/keys", key: tenant.testKey.secret)
            #expect((list.json["data"] as? [Any])?.count == 1)
        }
    }

    @Test func paymentKeysAndOrderHashes() async throws {
        let (app, tenant) = try await Harness.appWithTenant()
        _ = try await app.test(.router) { client in
            let admin = tenant.testKey.secret
            try await client.call(.post, "/v1/manage/order-hash", key: admin, json: #"{"order_id":"1","amount":"20","currency":"EGP"}"#) {
                $0.expectProblem(.badRequest, "no_payment_key")
            }
            let created = try await client.call(.post, "/v1/manage/payment-keys", key: admin, json: #"{"label":"web shop"}"#)
            #expect(created.status == .created)
            let paymentKey = try #require(created.json["secret"] as? String)
            let listing = try await client.call(.get, "/v1/manage/payment-keys", key: admin)
            #expect(!listing.text.contains(paymentKey))
            #expect((listing.json["data"] as? [[String: Any]])?.first?["label"] as? String == "web shop")

            let hashed = try await client.call(
                .post,
                "/v1/manage/order-hash",
                key: admin,
                json: #"{"order_id":"ord-77","amount":"150.50","currency":"EGP"}"#
            )
            let expected = KashierOrderHash.compute(
                paymentKey: paymentKey,
                mid: tenant.merchant.mid,
                orderID: "ord-77",
                amount: "150.50",
                currency: "EGP"
            )
            #expect(hashed.json["hash"] as? String == expected)
            #expect(hashed.json["path"] as? String == "/?payment=\(tenant.merchant.mid).ord-77.150.50.EGP")

            try await client.call(
                .post,
                "/v1/manage/order-hash/verify",
                key: admin,
                json: "{\"order_id\":\"ord-77\",\"amount\":\"150.50\",\"currency\":\"EGP\",\"hash\":\"\(expected)\"}"
            ) {
                #expect($0.json["valid"] as? Bool == true)
            }
            try await client.call(
                .post,
                "/v1/manage/order-hash/verify",
                key: admin,
                json: "{\"order_id\":\"ord-77\",\"amount\":\"150.5\",\"currency\":\"EGP\",\"hash\":\"\(expected)\"}"
            ) {
                #expect($0.json["valid"] as? Bool == false)
            }
            for body in [
                #"{"order_id":"1","amount":"1,5","currency":"EGP"}"#, #"{"order_id":"1","amount":"20","currency":"egp"}"#,
                #"{"order_id":"","amount":"20","currency":"EGP"}"#, #"{"amount":"20","currency":"EGP"}"#,
            ] {
                try await client.call(.post, "/v1/manage/order-hash", key: admin, json: body) { #expect($0.status == .badRequest) }
            }
            // Live keys do not see test payment keys.
            try await client.call(
                .post,
                "/v1/manage/order-hash",
                key: tenant.liveKey.secret,
                json: #"{"order_id":"1","amount":"20","currency":"EGP"}"#
            ) {
                $0.expectProblem(.badRequest, "no_payment_key")
            }
            // An imported provider key hashes like the provider does.
            let imported = try await client.call(
                .post,
                "/v1/manage/payment-keys",
                key: tenant.liveKey.secret,
                json: #"{"label":"migrated","value":"c9b3f2e1-0000-4e4e-9a9a-abcdefabcdef"}"#
            )
            let importedID = try #require(imported.json["id"] as? String)
            try await client.call(
                .post,
                "/v1/manage/order-hash",
                key: tenant.liveKey.secret,
                json: #"{"order_id":"9","amount":"5","currency":"USD"}"#
            ) {
                #expect(
                    $0.json["hash"] as? String
                        == KashierOrderHash.compute(
                            paymentKey: "c9b3f2e1-0000-4e4e-9a9a-abcdefabcdef",
                            mid: tenant.merchant.mid,
                            orderID: "9",
                            amount: "5",
                            currency: "USD"
                        )
                )
            }
            // Roll then revoke: a revoked key no longer hashes.
            let rolled = try await client.call(
                .post,
                "/v1/manage/payment-keys/\(importedID)/roll",
                key: tenant.liveKey.secret,
                json: #"{"overlap_seconds":0}"#
            )
            #expect(rolled.status == .created)
            let rolledID = try #require(rolled.json["id"] as? String)
            try await client.call(.post, "/v1/manage/payment-keys/\(rolledID)/revoke", key: tenant.liveKey.secret) { #expect($0.status == .ok) }
            try await client.call(
                .post,
                "/v1/manage/order-hash",
                key: tenant.liveKey.secret,
                json: "{\"payment_key_id\":\"\(rolledID)\",\"order_id\":\"9\",\"amount\":\"5\",\"currency\":\"USD\"}"
            ) {
                $0.expectProblem(.conflict, "key_inactive")
            }
        }
    }

    @Test func paymentKeysAreSealedAtRest() async throws {
        let settings = Harness.settings()
        let services = try await Harness.services(settings)
        let tenant = try await Harness.tenant(services)
        let created = try await services.paymentKeys.create(merchantID: tenant.merchant.id, mode: .test, label: "x", by: .platformOperator)
        struct Row: Decodable { let sealed_secret: String }
        let row = try await services.store.sql.raw("SELECT sealed_secret FROM payment_keys WHERE id = \(bind: created.info.id)").first(
            decoding: Row.self
        )
        let sealed = try #require(row?.sealed_secret)
        #expect(sealed.hasPrefix("kw1.\(services.keyring.primary.id)."))
        #expect(!sealed.contains(created.secret))
        struct KeyRow: Decodable { let secret_hash: String }
        let keyRow = try await services.store.sql.raw("SELECT secret_hash FROM secret_keys WHERE id = \(bind: tenant.testKey.info.id)").first(
            decoding: KeyRow.self
        )
        #expect(keyRow?.secret_hash == APIKeyFormat.digest(of: tenant.testKey.secret))
        await services.store.shutdown()
    }
}
