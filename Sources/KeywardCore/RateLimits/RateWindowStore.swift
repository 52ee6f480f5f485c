import Foundation
import SQLKit
import Synchronization

/// Where the request counts of fixed windows are kept: shared by every instance (PostgreSQL) or by one
/// process (SQLite, which serves from one process).
public protocol RateWindowStore: Sendable {
    /// Adds `count` to the bucket's count for `window` and returns the total after adding, counting every
    /// instance's additions. `expiresAt` is when the row may be forgotten.
    func add(_ count: Int, bucket: String, window: Int64, expiresAt: Date) async throws -> Int
    /// How many requests one claim should take at once for a quota: 1 when claims are free (memory:
    /// exact counts), a tenth of the quota when each is a database round trip.
    func batch(for quota: Int) -> Int
    /// Forgets windows that ended before `now` (a shared store may use its own clock instead).
    func prune(before now: Date) async throws
}

/// A store whose adds complete at once: the limiter claims from it inline, on the request's own path,
/// instead of through a claim task (a task per request cost the gateway 45 % of its rate).
public protocol ImmediateRateWindowStore: RateWindowStore {
    /// `add`, done now.
    func addImmediately(_ count: Int, bucket: String, window: Int64, expiresAt: Date) -> Int
}

/// Counts in this process's memory: exact, for the embedded (single-process) default.
public final class MemoryRateWindows: ImmediateRateWindowStore {
    private let counts = Mutex<[String: (window: Int64, used: Int, expires: Date)]>([:])

    public init() {}

    public func add(_ count: Int, bucket: String, window: Int64, expiresAt: Date) async throws -> Int {
        addImmediately(count, bucket: bucket, window: window, expiresAt: expiresAt)
    }

    public func addImmediately(_ count: Int, bucket: String, window: Int64, expiresAt: Date) -> Int {
        counts.withLock { counts in
            var entry = counts[bucket] ?? (window, 0, expiresAt)
            if entry.window != window { entry = (window, 0, expiresAt) }
            entry.used += count
            counts[bucket] = entry
            return entry.used
        }
    }

    public func batch(for quota: Int) -> Int { 1 }

    public func prune(before now: Date) async throws {
        counts.withLock { counts in counts = counts.filter { $0.value.expires >= now } }
    }
}

/// Counts in the `rate_windows` table, shared by every instance on one PostgreSQL database. Each add is
/// one atomic upsert (`used = used + n`), so concurrent instances never lose a count.
public struct SQLRateWindows: RateWindowStore {
    let store: KeywardStore

    public init(store: KeywardStore) { self.store = store }

    struct Row: Decodable { let used: Int64 }

    public func add(_ count: Int, bucket: String, window: Int64, expiresAt: Date) async throws -> Int {
        let row = try await store.sql.raw(
            """
            INSERT INTO rate_windows (bucket, window_index, used, expires_ms) VALUES (\(bind: bucket), \(bind: window), \(bind: Int64(count)), \(bind: expiresAt.millis))
            ON CONFLICT (bucket, window_index) DO UPDATE SET used = rate_windows.used + EXCLUDED.used
            RETURNING used
            """
        ).first(decoding: Row.self)
        return Int(row?.used ?? Int64(count))
    }

    public func batch(for quota: Int) -> Int { max(1, min(quota / 10, 100)) }

    /// Prunes by the database's clock, not the caller's: one instance whose clock runs ahead must not
    /// wipe the counts every other instance is still using.
    public func prune(before now: Date) async throws {
        try await store.sql.raw("DELETE FROM rate_windows WHERE expires_ms < CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)").run()
    }
}
