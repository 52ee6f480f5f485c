import Foundation
import Logging
import Synchronization

/// Fixed-window rate limiting shared by every instance, by leases of the window's quota.
///
/// Each window (`windowSeconds` long, aligned to the epoch) has one count per bucket in a shared store.
/// An instance does not ask the store for every request: it claims a batch of the quota at once (a tenth
/// of it on PostgreSQL, one at a time in memory) and admits requests from its lease until the lease is
/// spent, then claims again. The store's count only grows by atomic additions, and a claim is granted
/// only the part of the batch that the total before it left under the quota, so:
///
/// - all instances together never admit more than `quota` requests in one window (no over-admission,
///   whatever the number of instances);
/// - an instance may refuse early while others still hold unspent leases: at most `(N - 1) * batch`
///   requests of a window are lost this way with N instances (10 % of the quota per other instance).
///
/// Fixed windows allow a burst of up to twice the quota across a window boundary, as Stripe's and
/// GitHub's limits do. When the store cannot be reached each instance holds the whole quota on its own
/// (a database outage must not turn into a payment outage; N instances then admit up to N times the
/// quota) and the failure is logged once a minute.
public final class RateLimiter: Sendable {
    private struct Lease {
        var window: Int64
        /// Requests this instance may still admit from what it claimed.
        var unspent: Int
        /// Everything this instance claimed in the window (its own limit when the store is down).
        var claimed: Int
        /// The highest store total this instance has seen for the window.
        var totalSeen: Int
        /// The store said the window's quota is used up.
        var exhausted: Bool
    }

    private let store: any RateWindowStore
    /// `store` when its adds complete at once (claimed inline), found once here rather than cast per request.
    private let immediate: (any ImmediateRateWindowStore)?
    private let clock: KeywardClock
    private let logger: Logger
    private let leases = Mutex<[String: Lease]>([:])
    /// The claim in flight per bucket: concurrent requests wait for one claim instead of each claiming a
    /// batch (which would let one instance hoard the quota).
    private let claims = Mutex<[String: Task<Void, Never>]>([:])
    private let housekeeping = Mutex<(pruned: Date, warned: Date)>((.distantPast, .distantPast))

    public init(store: any RateWindowStore, clock: KeywardClock = .system, logger: Logger = Logger(label: "keyward.ratelimit")) {
        self.store = store
        self.immediate = store as? any ImmediateRateWindowStore
        self.clock = clock
        self.logger = logger
    }

    /// Counts one request against `policy` in `bucket` and says whether it may go on.
    public func take(bucket: String, policy: RateLimitPolicy) async -> RateLimitDecision {
        let now = clock.now()
        let windowMillis = Int64(policy.windowSeconds) * 1000
        let window = now.millis / windowMillis
        let windowEnd = Date(millis: (window + 1) * windowMillis)
        let reset = max(1, Int((windowEnd.timeIntervalSince(now)).rounded(.up)))
        let key = "\(bucket)|\(policy.quota)/\(policy.windowSeconds)"
        // Each round either admits or refuses from the lease, or waits for one claim, which adds to the
        // lease or marks the window exhausted: the loop ends.
        while true {
            if let decision = fromLease(key, window: window, policy: policy, reset: reset) { return decision }
            if let immediate {
                let batch = min(immediate.batch(for: policy.quota), policy.quota)
                let total = immediate.addImmediately(batch, bucket: key, window: window, expiresAt: windowEnd.addingTimeInterval(60))
                grant(key, window: window, batch: batch, outcome: (max(0, min(batch, policy.quota - (total - batch))), total), policy: policy)
                pruneNowAndThen(now)
                continue
            }
            let claim = claims.withLock { claims -> Task<Void, Never> in
                if let running = claims[key] { return running }
                let started = Task { await self.claim(key, window: window, windowEnd: windowEnd, policy: policy) }
                claims[key] = started
                return started
            }
            await claim.value
        }
    }

    /// Claims a batch of the window's quota from the store into this instance's lease.
    private func claim(_ key: String, window: Int64, windowEnd: Date, policy: RateLimitPolicy) async {
        defer { claims.withLock { _ = $0.removeValue(forKey: key) } }
        let batch = min(store.batch(for: policy.quota), policy.quota)
        let outcome: (granted: Int, total: Int?)
        do {
            let total = try await store.add(batch, bucket: key, window: window, expiresAt: windowEnd.addingTimeInterval(60))
            outcome = (max(0, min(batch, policy.quota - (total - batch))), total)
            pruneNowAndThen(clock.now())
        } catch {
            warnOnce(error)
            outcome = (batch, nil)
        }
        grant(key, window: window, batch: batch, outcome: outcome, policy: policy)
    }

    /// Adds what a claim got to this instance's lease of the window (`total` nil: the store was unreachable).
    private func grant(_ key: String, window: Int64, batch: Int, outcome: (granted: Int, total: Int?), policy: RateLimitPolicy) {
        leases.withLock { leases in
            var lease =
                leases[key].flatMap { $0.window == window ? $0 : nil }
                ?? Lease(window: window, unspent: 0, claimed: 0, totalSeen: 0, exhausted: false)
            // Without the store, this instance holds the quota alone.
            let granted = outcome.total == nil ? max(0, min(outcome.granted, policy.quota - lease.claimed)) : outcome.granted
            lease.unspent += granted
            lease.claimed += granted
            if let total = outcome.total { lease.totalSeen = max(lease.totalSeen, total) }
            if granted < batch { lease.exhausted = true }
            leases[key] = lease
        }
    }

    /// Admits from the current lease, refuses when the window is known to be used up, or returns nil
    /// when a claim is needed.
    private func fromLease(_ key: String, window: Int64, policy: RateLimitPolicy, reset: Int) -> RateLimitDecision? {
        leases.withLock { leases in
            guard var lease = leases[key], lease.window == window else {
                if leases.count > 100_000 { leases = leases.filter { $0.value.window >= window - 1 } }
                return nil
            }
            if lease.unspent > 0 {
                lease.unspent -= 1
                leases[key] = lease
                return RateLimitDecision(policy: policy, allowed: true, remaining: Self.remaining(lease, policy), resetSeconds: reset)
            }
            if lease.exhausted {
                return RateLimitDecision(policy: policy, allowed: false, remaining: 0, resetSeconds: reset)
            }
            return nil
        }
    }

    /// What is left: the quota beyond the highest total seen, plus this instance's unspent lease.
    private static func remaining(_ lease: Lease, _ policy: RateLimitPolicy) -> Int {
        max(0, policy.quota - lease.totalSeen) + lease.unspent
    }

    private func pruneNowAndThen(_ now: Date) {
        let due = housekeeping.withLock { state -> Bool in
            guard now.timeIntervalSince(state.pruned) > 60 else { return false }
            state.pruned = now
            return true
        }
        guard due else { return }
        let store = self.store
        let logger = self.logger
        Task {
            do { try await store.prune(before: now) } catch {
                logger.warning("rate limit windows not pruned", metadata: ["error_type": "\(type(of: error))"])
            }
        }
    }

    private func warnOnce(_ error: any Error) {
        let now = clock.now()
        let warn = housekeeping.withLock { state -> Bool in
            guard now.timeIntervalSince(state.warned) > 60 else { return false }
            state.warned = now
            return true
        }
        if warn {
            logger.error(
                "rate limit store unreachable; each instance limits on its own until it is back",
                metadata: ["error_type": "\(type(of: error))"]
            )
        }
    }
}
