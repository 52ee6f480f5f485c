import Foundation
import HTTPTypes
import KeywardCore
import KeywardCrypto
import Synchronization
import Testing

@testable import KeywardServer

/// CPU-heavy work goes through a bounded pool: a burst beyond it is refused at once with 503 and
/// Retry-After, instead of piling up threads or stalling the event loops.
@Suite struct HeavyWorkTests {
    @Test func aBurstBeyondThePoolIsRefusedAtOnceWithRetryAfter() async throws {
        let pool = HeavyWork(threads: 1, maxPending: 2)
        let gate = Gate()
        let slowJob: @Sendable () -> Int = {
            gate.started.withLock { $0 += 1 }
            while !gate.release.withLock({ $0 }) { usleep(1000) }
            return 1
        }
        async let first = pool.run(slowJob)
        async let second = pool.run(slowJob)
        while gate.started.withLock({ $0 }) < 1 { try await Task.sleep(for: .milliseconds(5)) }
        // Two jobs hold the pool (one running, one waiting) until the gate opens: the third is refused
        // without waiting. A third call that queued for a slot instead would come back only when this
        // watchdog opens the gate, and then with its result, not the refusal. (No wall-clock bound: one of
        // 500 ms is what a loaded 2-core CI machine does not meet every time, and "at once" means "does not
        // wait for the pool", which this shows.)
        let watchdog = Task {
            try await Task.sleep(for: .seconds(60))
            gate.release.withLock { $0 = true }
        }
        await #expect(
            throws: KeywardError(.unavailable, .serverBusy, "The server is busy with other key and certificate work; retry in a second.")
        ) {
            _ = try await pool.run { 0 }
        }
        watchdog.cancel()
        gate.release.withLock { $0 = true }
        #expect(try await first + second == 2)
        // Once they are done the pool takes work again.
        #expect(try await pool.run { 3 } == 3)

        let response = Problem.response(KeywardError(.unavailable, .serverBusy, "busy"), requestID: "r")
        #expect(response.status == .serviceUnavailable)
        #expect(response.headers[.retryAfter] == "1")
    }

    @Test func bcryptRunsOnThePoolAndIsRefusedWhenItIsFull() async throws {
        let pool = HeavyWork(threads: 1, maxPending: 1)
        let hasher = PasswordHasher(cost: 12, pool: pool)
        async let slow = hasher.hash("correct horse battery staple")
        try await Task.sleep(for: .milliseconds(50))
        await #expect(throws: KeywardError.self) {
            _ = try await hasher.verify("guess", hash: "$2b$04$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui")
        }
        let hash = try await slow
        #expect(try await hasher.verify("correct horse battery staple", hash: hash))
    }

    /// Each store key index gets a platform RSA key pair, made on the pool: with the pool full, adding a
    /// key is refused with `server_busy` and nothing is stored; once it frees up the same call works.
    @Test(.closesStores) func storeKeyGenerationWaitsForThePoolOrIsRefused() async throws {
        let services = try await Harness.services(Harness.settings())
        let tenant = try await Harness.tenant(services)
        let pool = HeavyWork(threads: 1, maxPending: 1)
        let stores = StoreService(store: services.store, keyring: services.keyring, changes: services.changes, heavyWork: pool)
        let store = try await stores.create(merchantID: tenant.merchant.id, mode: .test, NewStore(name: "till", dialect: .alikassa))
        let merchantKey = try RSASigningKey.generate(bits: 2048).publicKey.spkiPEM
        let gate = Gate()
        async let busy = pool.run {
            gate.started.withLock { $0 += 1 }
            while !gate.release.withLock({ $0 }) { usleep(1000) }
        }
        while gate.started.withLock({ $0 }) < 1 { try await Task.sleep(for: .milliseconds(5)) }
        await #expect(throws: KeywardError.self) {
            _ = try await stores.addKeys(
                merchantID: tenant.merchant.id,
                mode: .test,
                storeID: store.id,
                pem: merchantKey,
                limits: RequestedLimits(),
                by: .platformOperator
            )
        }
        #expect(try await stores.keys(storeID: store.id).isEmpty)
        gate.release.withLock { $0 = true }
        try await busy
        let added = try await stores.addKeys(
            merchantID: tenant.merchant.id,
            mode: .test,
            storeID: store.id,
            pem: merchantKey,
            limits: RequestedLimits(),
            by: .platformOperator
        )
        #expect(added.count == 1)
    }
}

final class Gate: Sendable {
    let release = Mutex(false)
    let started = Mutex(0)
}
