import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KeywardCore
import KeywardCrypto
import KeywardDialects
import KeywardServer
import Synchronization
import Testing

/// Rate limits: a merchant's credentials share the mode's quota, a credential may have a tighter one of
/// its own, and instances that share a database never admit more than the quota together.
@Suite(.closesStores) struct RateLimitTests {
    /// A clock that stands still in the middle of a second, so a burst is one window.
    static func frozenClock() -> KeywardClock {
        let now = Date(timeIntervalSince1970: (Date().timeIntervalSince1970).rounded(.down) + 0.25)
        return KeywardClock { now }
    }

    /// A test key floods the gateway: the 26th request of one second is refused with 429, Retry-After
    /// and the draft headers, and every admitted answer says how much room is left.
    @Test func aTestKeyPastTheDefaultQuotaIsRefusedWithTheDraftHeaders() async throws {
        let settings = Harness.settings {
            $0.rateLimitTest = 25
            $0.rateLimitLive = 100
        }
        let services = try await Harness.services(settings)
        let tenant = try await Harness.tenant(services)
        await services.store.shutdown()
        let app = try await Harness.app(settings, clock: Self.frozenClock())
        _ = try await app.test(.router) { client in
            for sent in 1...25 {
                try await client.call(.get, "/v1/auth/test", key: tenant.testKey.secret) { response in
                    #expect(response.status == .ok)
                    #expect(response.headers[HTTPField.Name("RateLimit-Policy")!] == "\"merchant\";q=25;w=1")
                    #expect(response.headers[HTTPField.Name("RateLimit")!] == "\"merchant\";r=\(25 - sent);t=1")
                }
            }
            try await client.call(.get, "/v1/auth/test", key: tenant.testKey.secret) { response in
                response.expectProblem(.tooManyRequests, "rate_limited")
                #expect(response.json["type"] as? String == "https://iana.org/assignments/http-problem-types#quota-exceeded")
                #expect(response.headers[.retryAfter] == "1")
                #expect(response.headers[HTTPField.Name("RateLimit")!] == "\"merchant\";r=0;t=1")
            }
            // The live quota is the live mode's own: the test flood does not touch it.
            try await client.call(.get, "/v1/auth/test", key: tenant.liveKey.secret) { response in
                #expect(response.status == .ok)
                #expect(response.headers[HTTPField.Name("RateLimit")!] == "\"merchant\";r=99;t=1")
            }
            // Errors after authentication carry the headers too (a missing object is still a counted call).
            try await client.call(.get, "/v1/manage/keys/key_missing", key: tenant.liveKey.secret) { response in
                response.expectProblem(.notFound, "resource_missing")
                #expect(response.headers[HTTPField.Name("RateLimit")!] == "\"merchant\";r=98;t=1")
            }
        }
    }

    /// The merchant gives one key a tighter limit through the API; another merchant's id, a test key and a
    /// nonsense quota are refused; the limit binds that key only and is lifted again.
    @Test func aCredentialsOwnLimitBindsItAloneAndOnlyALiveKeySetsIt() async throws {
        let settings = Harness.settings {
            $0.rateLimitTest = 1000
            $0.rateLimitLive = 1000
        }
        let services = try await Harness.services(settings)
        let tenant = try await Harness.tenant(services)
        let other = try await Harness.tenant(services)
        let second = try await services.secretKeys.create(
            merchantID: tenant.merchant.id,
            mode: .test,
            options: .init(name: "ci"),
            by: .platformOperator
        )
        await services.store.shutdown()
        let app = try await Harness.app(settings, clock: Self.frozenClock())
        let path = "/v1/manage/rate-limits/test/\(tenant.testKey.info.id)"
        _ = try await app.test(.router) { client in
            try await client.call(.put, path, key: tenant.testKey.secret, json: #"{"quota": 2}"#) {
                $0.expectProblem(.forbidden, "live_key_required")
            }
            try await client.call(.put, "/v1/manage/rate-limits/test/\(other.testKey.info.id)", key: tenant.liveKey.secret, json: #"{"quota": 2}"#) {
                $0.expectProblem(.notFound, "resource_missing")
            }
            try await client.call(.put, path, key: tenant.liveKey.secret, json: #"{"quota": 0}"#) {
                $0.expectProblem(.badRequest, "invalid_rate_limit")
            }
            try await client.call(.put, path, key: tenant.liveKey.secret, json: #"{"quota": 2, "window_seconds": 5000}"#) {
                $0.expectProblem(.badRequest, "invalid_rate_limit")
            }
            try await client.call(.put, "/v1/manage/rate-limits/staging/merchant", key: tenant.liveKey.secret, json: #"{"quota": 2}"#) {
                $0.expectProblem(.badRequest, "invalid_mode")
            }
            try await client.call(.put, path, key: tenant.liveKey.secret, json: #"{"quota": 2}"#) { response in
                #expect(response.status == .ok, "\(response.text)")
                #expect(response.json["quota"] as? Int == 2)
                #expect(response.json["window_seconds"] as? Int == 1)
            }
            for _ in 1...2 {
                try await client.call(.get, "/v1/auth/test", key: tenant.testKey.secret) { response in
                    #expect(response.status == .ok)
                    #expect(response.headers[HTTPField.Name("RateLimit-Policy")!] == "\"merchant\";q=1000;w=1, \"key\";q=2;w=1")
                }
            }
            try await client.call(.get, "/v1/auth/test", key: tenant.testKey.secret) { response in
                response.expectProblem(.tooManyRequests, "rate_limited")
                #expect(response.headers[HTTPField.Name("RateLimit")!] == "\"key\";r=0;t=1")
            }
            // The merchant's other key is not held back by its sibling's limit.
            try await client.call(.get, "/v1/auth/test", key: second.secret) { #expect($0.status == .ok) }
            try await client.call(.get, "/v1/manage/rate-limits", key: tenant.liveKey.secret) { response in
                let data = response.json["data"] as? [[String: Any]] ?? []
                #expect(
                    data.map { "\($0["mode"] ?? "") \($0["subject"] ?? "") \($0["quota"] ?? "")" } == [
                        "live merchant 1000", "test merchant 1000", "test \(tenant.testKey.info.id) 2",
                    ]
                )
            }
            try await client.call(.delete, path, key: tenant.liveKey.secret) { #expect($0.status == .noContent) }
            try await client.call(.delete, path, key: tenant.liveKey.secret) { $0.expectProblem(.notFound, "resource_missing") }
        }
    }

    /// A provider dialect is limited like a bearer key: an AliKassa store key index with a limit of one
    /// request a second is refused its second signed call (a fresh body each time: not a replay).
    @Test func aProviderStoreKeyIndexIsLimitedToo() async throws {
        let settings = Harness.settings { $0.rateLimitTest = 1000 }
        let services = try await Harness.services(settings)
        let tenant = try await Harness.tenant(services)
        await services.store.shutdown()
        let app = try await Harness.app(settings, clock: Self.frozenClock())
        let merchantKey = try RSASigningKey.generate(bits: 2048)
        _ = try await app.test(.router) { client in
            let store = try await client.call(.post, "/v1/manage/stores", key: tenant.testKey.secret, json: #"{"dialect":"alikassa"}"#)
            let storeID = try #require(store.json["id"] as? String)
            let account = try #require(store.json["account"] as? String)
            let index = try await client.call(
                .post,
                "/v1/manage/stores/\(storeID)/keys",
                key: tenant.testKey.secret,
                json: try ScopeEscapeTests.json(["public_key": merchantKey.publicKey.spkiPEM])
            )
            let indexID = try #require((index.json["data"] as? [[String: Any]])?.first?["id"] as? String, "\(index.text)")
            try await client.call(.put, "/v1/manage/rate-limits/test/\(indexID)", key: tenant.liveKey.secret, json: #"{"quota": 1}"#) {
                #expect($0.status == .ok, "\($0.text)")
            }
            for expected in [HTTPResponse.Status.ok, .tooManyRequests] {
                let body = #"{"amount":"10.00","order":"\#(UUID().uuidString)"}"#
                let sign = try AliKassa.sign(body: Array(body.utf8), with: merchantKey)
                let headers: HTTPFields = [.init("Account")!: account, .init("Sign")!: sign, .contentType: "application/json"]
                try await client.execute(uri: "/v1/auth/test", method: .post, headers: headers, body: ByteBuffer(string: body)) {
                    #expect($0.status == expected, "\($0.text)")
                }
            }
        }
    }

    /// Device sessions come and go, so a merchant limits the JWK they are opened to: two sessions of a
    /// JWK limited to one request a second share that one request, and the limit cannot be set on another
    /// merchant's JWK.
    @Test func sessionsOfAJWKShareItsLimit() async throws {
        let settings = Harness.settings { $0.rateLimitTest = 1000 }
        let services = try await Harness.services(settings)
        let (tenant, privateJWK, serviceCode) = try await AllianceTests.merchant(services)
        let jwk = try #require(try await services.jweKeys.list(merchantID: tenant.merchant.id, mode: .test).first)
        let other = try await Harness.tenant(services)
        await services.store.shutdown()
        let app = try await Harness.app(settings, clock: Self.frozenClock())
        _ = try await app.test(.router) { client in
            try await client.call(.put, "/v1/manage/rate-limits/test/\(jwk.id)", key: other.liveKey.secret, json: #"{"quota": 1}"#) {
                $0.expectProblem(.notFound, "resource_missing")
            }
            try await client.call(.put, "/v1/manage/rate-limits/test/\(jwk.id)", key: tenant.liveKey.secret, json: #"{"quota": 1}"#) {
                #expect($0.status == .ok, "\($0.text)")
            }
            var statuses: [HTTPResponse.Status] = []
            for _ in 0..<2 {
                let session = try await AllianceTests.open(client, serviceCode: serviceCode, privateJWK: privateJWK)
                let headers: HTTPFields = [
                    .init("x-api_version")!: "1", .init("x-device_id")!: try #require(session["deviceId"] as? String),
                    .init("x-refresh_token")!: try #require(session["refreshToken"] as? String),
                ]
                statuses.append(try await client.execute(uri: "/v1/auth/test", method: .get, headers: headers) { $0 }.status)
            }
            #expect(statuses == [.ok, .tooManyRequests])
        }
    }

    /// Two instances (two limiters on one shared count) take a 100-request quota at once, 150 requests
    /// each: together they admit at most 100, and lose at most one batch to the other's unspent lease.
    @Test func instancesSharingACountNeverAdmitMoreThanTheQuota() async throws {
        let shared = BatchedMemoryWindows()
        let clock = Self.frozenClock()
        let instances = [RateLimiter(store: shared, clock: clock), RateLimiter(store: shared, clock: clock)]
        let policy = RateLimitPolicy(name: "key", quota: 100, windowSeconds: 1)
        let admitted = await withTaskGroup(of: Bool.self) { group in
            for instance in instances {
                for _ in 0..<150 { group.addTask { await instance.take(bucket: "key:k", policy: policy).allowed } }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(admitted <= 100)
        #expect(admitted >= 100 - shared.batch(for: 100))
    }

    /// One instance takes a burst of 64 concurrent requests: it claims batch by batch (one claim in flight),
    /// not a batch per waiting request, so the other instance still finds the rest of the quota.
    @Test func anInstanceUnderABurstDoesNotHoardTheQuota() async throws {
        let shared = BatchedMemoryWindows()
        let clock = Self.frozenClock()
        let (busy, quiet) = (RateLimiter(store: shared, clock: clock), RateLimiter(store: shared, clock: clock))
        let policy = RateLimitPolicy(name: "key", quota: 100, windowSeconds: 1)
        func burst(_ limiter: RateLimiter, _ count: Int) async -> Int {
            await withTaskGroup(of: Bool.self) { group in
                for _ in 0..<count { group.addTask { await limiter.take(bucket: "key:burst", policy: policy).allowed } }
                return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
        }
        #expect(await burst(busy, 64) == 64)
        let batch = shared.batch(for: 100)
        #expect(await burst(quiet, 100) >= 100 - 64 - batch)
        #expect(shared.claims <= 100 / batch + 4, "one claim per batch, not one per waiting request")
    }

    /// When the shared count cannot be reached, an instance keeps answering but still holds the quota on
    /// its own: a database outage is neither a payment outage nor a free-for-all.
    @Test func withoutTheStoreAnInstanceLimitsAlone() async throws {
        let limiter = RateLimiter(store: UnreachableWindows(), clock: Self.frozenClock())
        let policy = RateLimitPolicy(name: "merchant", quota: 30, windowSeconds: 1)
        var admitted = 0
        for _ in 0..<50 where await limiter.take(bucket: "merchant:m:test", policy: policy).allowed { admitted += 1 }
        #expect(admitted == 30)
    }

    /// The same with PostgreSQL's shared table when the suite runs on it: the count is one row added to
    /// atomically by every instance.
    @Test func theSharedTableCountsEveryInstancesClaims() async throws {
        let settings = Harness.settings()
        let services = try await Harness.services(settings)
        let windows: any RateWindowStore = services.store.engine.isPostgres ? SQLRateWindows(store: services.store) : MemoryRateWindows()
        let clock = Self.frozenClock()
        let instances = (0..<3).map { _ in RateLimiter(store: windows, clock: clock) }
        let policy = RateLimitPolicy(name: "merchant", quota: 60, windowSeconds: 1)
        let bucket = "merchant:\(UUID().uuidString):test"
        let admitted = await withTaskGroup(of: Bool.self) { group in
            for instance in instances {
                for _ in 0..<50 { group.addTask { await instance.take(bucket: bucket, policy: policy).allowed } }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(admitted <= 60)
        #expect(admitted >= 60 - 2 * windows.batch(for: 60))
        if services.store.engine.isPostgres {
            // An instance whose clock runs ten days ahead prunes: the window in use keeps its count.
            try await windows.prune(before: Date().addingTimeInterval(10 * 86400))
            let late = RateLimiter(store: windows, clock: clock)
            #expect(await late.take(bucket: bucket, policy: policy).allowed == false)
        }
        await services.store.shutdown()
    }
}

/// A shared in-memory count that claims in batches like the PostgreSQL store, to test leases.
final class BatchedMemoryWindows: RateWindowStore {
    private let inner = MemoryRateWindows()
    private let count = Mutex(0)
    /// How many claims reached the store.
    var claims: Int { count.withLock { $0 } }
    func add(_ count: Int, bucket: String, window: Int64, expiresAt: Date) async throws -> Int {
        self.count.withLock { $0 += 1 }
        try await Task.sleep(for: .milliseconds(2))  // a database round trip, so waiting requests pile up
        return try await inner.add(count, bucket: bucket, window: window, expiresAt: expiresAt)
    }
    func batch(for quota: Int) -> Int { max(1, quota / 10) }
    func prune(before now: Date) async throws { try await inner.prune(before: now) }
}

/// A shared count that is down.
struct UnreachableWindows: RateWindowStore {
    struct Down: Error {}
    func add(_ count: Int, bucket: String, window: Int64, expiresAt: Date) async throws -> Int { throw Down() }
    func batch(for quota: Int) -> Int { max(1, quota / 10) }
    func prune(before now: Date) async throws { throw Down() }
}
