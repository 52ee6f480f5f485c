import Synchronization

/// A cache of what was read from the database, valid while the credential revision is unchanged.
///
/// The invalidation rule: every credential write bumps the database's revision counter in its own
/// transaction (`CredentialChanges.commit`), and each instance learns of the bump through
/// `CredentialChanges` — at once for its own writes, by `NOTIFY` for another instance's on PostgreSQL,
/// and by polling the counter (`CredentialChangeListener`) for a notification lost while reconnecting or
/// for another process on the same SQLite file (the CLI). On every bump this cache advances its local
/// revision and empties itself, so the next lookup reads the database again.
///
/// Why a stale value cannot survive a change: a lookup that misses notes the revision before it reads
/// the database and stores what it read only if the revision is still the same afterwards. A change
/// announced while the read was under way (the read may have seen the row before the change) discards
/// the value instead of caching it; a change announced after it was stored empties the cache. So a value
/// is served at most until this instance hears of the change: immediately for local writes, within a
/// notification or one poll interval for other instances and processes. Nothing else (time, size) is
/// needed for correctness; `limit` only bounds memory (the cache is emptied when it is full).
public final class RevisionedCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private struct State {
        var revision: UInt64 = 0
        var entries: [Key: Value] = [:]
    }

    /// The local revision a lookup started at; a value read since may be stored only at the same revision.
    public struct Revision: Sendable, Equatable {
        fileprivate let value: UInt64
    }

    private let state = Mutex(State())
    private let limit: Int

    /// An empty cache of at most `limit` entries, emptied at every change `changes` reports (when given;
    /// without it only `invalidateAll` empties it).
    public init(limit: Int, invalidatedBy changes: CredentialChanges?) {
        self.limit = limit
        changes?.subscribe { [weak self] in self?.invalidateAll() }
    }

    /// The cached value for `key`, and the revision to store a freshly read one at.
    public func lookup(_ key: Key) -> (value: Value?, revision: Revision) {
        state.withLock { ($0.entries[key], Revision(value: $0.revision)) }
    }

    /// Stores `value`, read from the database after `lookup` returned `revision`, unless a change was
    /// announced since (then what was read may predate it, and is dropped).
    public func store(_ value: Value, for key: Key, readAt revision: Revision) {
        state.withLock { state in
            guard state.revision == revision.value else { return }
            if state.entries.count >= limit { state.entries.removeAll(keepingCapacity: true) }
            state.entries[key] = value
        }
    }

    /// The cached value for `key`, or what `load` reads (stored unless a change came in between).
    /// A `nil` from `load` (nothing there) is not cached: the next lookup reads again.
    public func value(for key: Key, load: () async throws -> Value?) async rethrows -> Value? {
        let (cached, revision) = lookup(key)
        if let cached { return cached }
        guard let loaded = try await load() else { return nil }
        store(loaded, for: key, readAt: revision)
        return loaded
    }

    /// Forgets everything and advances the revision, so reads under way are not stored either.
    public func invalidateAll() {
        state.withLock { state in
            state.revision &+= 1
            state.entries.removeAll(keepingCapacity: true)
        }
    }

    /// Forgets one entry (this instance only).
    public func remove(_ key: Key) {
        state.withLock { _ = $0.entries.removeValue(forKey: key) }
    }

    /// The local revision: how many changes this cache has heard of.
    public var revision: Revision { state.withLock { Revision(value: $0.revision) } }

    /// How many entries are cached.
    public var count: Int { state.withLock { $0.entries.count } }
}
