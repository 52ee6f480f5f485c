import Foundation
import KeywardCore
import Synchronization

/// Slows down an address that keeps presenting credentials that fail. Refusing is cheap, but a client
/// that reconnects and retries the moment it is refused (a credential-stuffing script, or a slow-body
/// attacker whose bodies we no longer wait for) turns refusals into a flood that takes the CPU from
/// verified callers. Each address (an IPv6 /64 counts as one) has a token bucket of `perSecond` refusals,
/// refilled at `perSecond` a second; a refusal that finds it empty is answered only after `pause`, so a
/// closed-loop client makes at most one attempt per pause per connection. Verified calls from the same
/// address are never delayed: only refusals are counted and paused.
///
/// Memory is bounded: at most `trackedAddresses` buckets; buckets that have refilled are dropped (at most
/// once a second), and while the table is still full, refusals from addresses not in it are paused.
public final class RefusalThrottle: Sendable {
    /// Refusals an address may get at once, and per second after that (`refused_auth_per_address_per_second`).
    public let perSecond: Int
    /// How long a refusal over the budget waits before it is sent (`refused_auth_pause_ms`; zero turns the throttle off).
    public let pause: Duration
    static let trackedAddresses = 65_536

    private struct Bucket {
        var tokens: Double
        var at: TimeInterval
    }
    private struct Buckets {
        var byAddress: [[UInt8]: Bucket] = [:]
        var prunedAt: TimeInterval = 0
    }
    private let buckets = Mutex(Buckets())
    private let clock: KeywardClock

    public init(perSecond: Int, pause: Duration, clock: KeywardClock = .system) {
        self.perSecond = max(perSecond, 1)
        self.pause = pause
        self.clock = clock
    }

    /// Counts one refusal from `address` and tells how long to wait before answering it (nil: at once).
    public func refused(from address: [UInt8]?) -> Duration? {
        guard pause > .zero else { return nil }
        let now = clock.now().timeIntervalSinceReferenceDate
        let key = Self.key(address)
        let capacity = Double(perSecond)
        let allowed = buckets.withLock { buckets -> Bool in
            if buckets.byAddress.count >= Self.trackedAddresses, now - buckets.prunedAt >= 1 {
                buckets.prunedAt = now
                buckets.byAddress = buckets.byAddress.filter { _, bucket in bucket.tokens + (now - bucket.at) * capacity < capacity }
            }
            var bucket: Bucket
            if let known = buckets.byAddress[key] {
                bucket = known
                bucket.tokens = min(capacity, bucket.tokens + max(0, now - bucket.at) * capacity)
                bucket.at = now
            } else {
                guard buckets.byAddress.count < Self.trackedAddresses else { return false }
                bucket = Bucket(tokens: capacity, at: now)
            }
            let allowed = bucket.tokens >= 1
            if allowed { bucket.tokens -= 1 }
            buckets.byAddress[key] = bucket
            return allowed
        }
        return allowed ? nil : pause
    }

    /// What one client is: an IPv4 address (IPv4-mapped IPv6 included) or an IPv6 /64, which one host
    /// usually holds whole.
    static func key(_ address: [UInt8]?) -> [UInt8] {
        guard let address else { return [] }
        if address.count == 16 {
            let mappedPrefix: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF]
            if address.prefix(12).elementsEqual(mappedPrefix) { return Array(address.suffix(4)) }
            return Array(address.prefix(8))
        }
        return address
    }
}

/// A refusal that waited out the throttle's pause: answered as the refusal itself, plus `Retry-After`
/// (the pause, in whole seconds) so a well-behaved client knows to slow down.
struct PausedRefusal: Error {
    let refusal: KeywardError
    let pause: Duration

    var retryAfterSeconds: Int {
        let (seconds, attoseconds) = pause.components
        return Int(seconds) + (attoseconds > 0 ? 1 : 0)
    }
}
