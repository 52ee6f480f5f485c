import Foundation
import KeywardCore
import KeywardCrypto
import KeywardServer
import Synchronization
import Testing

/// `RevisionedCache`, the one "valid while the credential revision is unchanged" cache behind the
/// secret-key, signing-key, store, rate-limit and device-session lookups. Revocation across instances
/// end to end is `ScaleOutTests.revocationReachesTheOtherInstance` (a secret key) and
/// `notifyAloneInvalidates` (PostgreSQL's NOTIFY); a revoked store key index refused on the very next
/// request is `ProviderGatewayTests.myPOSFormsSignedLikeTheSDKAreVerifiedAndAnsweredWithThePlatformSignature`
/// and `ProviderVerificationAgreementTests`.
@Suite(.closesStores) struct RevisionedCacheTests {
    @Test func aChangeEmptiesTheCacheAndAReadThatRacedWithItIsNotStored() {
        let changes = CredentialChanges(engine: .sqlite(path: ":memory:"))
        let cache = RevisionedCache<String, Int>(limit: 10, invalidatedBy: changes)
        let (missing, before) = cache.lookup("k")
        #expect(missing == nil)
        cache.store(1, for: "k", readAt: before)
        #expect(cache.lookup("k").value == 1)

        // A change is announced: the value read before it is gone.
        changes.localChange()
        #expect(cache.lookup("k").value == nil)

        // A read that started before a change and ended after it: what it read may predate the change.
        let (_, started) = cache.lookup("k")
        changes.localChange()
        cache.store(2, for: "k", readAt: started)
        #expect(cache.lookup("k").value == nil, "a value read before a change was cached after it")
        cache.store(3, for: "k", readAt: cache.revision)
        #expect(cache.lookup("k").value == 3)
    }

    @Test func nothingFoundIsNotCachedAndTheLimitBoundsMemory() async {
        let cache = RevisionedCache<Int, String>(limit: 3, invalidatedBy: nil)
        let calls = Mutex(0)
        for _ in 0..<2 {
            _ = await cache.value(for: 1) {
                calls.withLock { $0 += 1 }
                return nil
            }
        }
        #expect(calls.withLock { $0 } == 2, "a miss was cached: a key created later would stay unknown")
        for key in 0..<3 { _ = await cache.value(for: key) { "v\(key)" } }
        #expect(cache.count == 3)
        _ = await cache.value(for: 9) { "v9" }
        #expect(cache.count == 1)
    }

    /// Two instances on one database: the reader has cached a store and its key index; the writer
    /// revokes the index. The reader serves its cached copy until it hears of the change (its poller
    /// sees the revision counter move, or NOTIFY on PostgreSQL), then reads the store again.
    @Test func aRevocationByAnotherInstanceStopsTheCachedStoreKey() async throws {
        let settings = Harness.settings()
        let writer = try await Harness.services(settings)
        let reader = try await Harness.services(settings)
        let tenant = try await Harness.tenant(writer)
        let store = try await writer.stores.create(merchantID: tenant.merchant.id, mode: .test, NewStore(name: "shop", dialect: .mypos))
        let key = try RSASigningKey.generate(bits: 2048)
        _ = try await writer.stores.addKeys(
            merchantID: tenant.merchant.id,
            mode: .test,
            storeID: store.id,
            pem: key.publicKey.spkiPEM,
            limits: RequestedLimits(),
            by: .platformOperator
        )

        // Without an announcement the reader keeps serving what it cached: this is the cache at work.
        #expect(try await reader.storeDirectory.resolve(.mypos, externalID: store.externalID)?.keys.count == 1)
        _ = try await writer.stores.revokeKey(merchantID: tenant.merchant.id, mode: .test, storeID: store.id, keyIndex: 1)
        #expect(try await reader.storeDirectory.resolve(.mypos, externalID: store.externalID)?.keys.count == 1)
        #expect(try await writer.storeDirectory.resolve(.mypos, externalID: store.externalID)?.keys.count == 0, "the writer's own change is local")

        // The reader's listener: its first poll takes the current revision as its baseline; the next
        // change (another key added and revoked by the writer) moves it and empties the reader's caches.
        let listener = CredentialChangeListener(store: reader.store, changes: reader.changes, pollInterval: .milliseconds(50), logger: Harness.logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await listener.run() }
            try await Task.sleep(for: .milliseconds(500))
            _ = try await writer.stores.addKeys(
                merchantID: tenant.merchant.id,
                mode: .test,
                storeID: store.id,
                pem: key.publicKey.spkiPEM,
                keyIndex: 2,
                limits: RequestedLimits(),
                by: .platformOperator
            )
            let start = ContinuousClock.now
            var indexes: [Int] = [1]
            while ContinuousClock.now - start < .seconds(30) {
                indexes = try await reader.storeDirectory.resolve(.mypos, externalID: store.externalID)?.keys.map(\.info.keyIndex) ?? []
                if indexes == [2] { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            // 30 s is only the point of giving up: a cache that never hears of the change stays at [1].
            #expect(indexes == [2], "the reader still serves key indexes \(indexes)")
            group.cancelAll()
        }
        await writer.store.shutdown()
        await reader.store.shutdown()
    }
}
