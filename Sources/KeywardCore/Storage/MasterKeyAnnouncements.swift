import Foundation
import KeywardCrypto
import Logging
import SQLKit
import ServiceLifecycle

/// The database side of a master-key rotation while serving (like Vault's keyring: a new key seals,
/// old keys keep opening).
///
/// `keyward master-key rotate` announces the new key here (sealed under the current primary) and bumps
/// the `keyring` revision. Every instance polls that revision, opens the announced key with a key it
/// holds and adds it to its live keyring for *opening* at once; it *seals* with it only once the
/// announcement is `settle` old. The rotation waits longer than `settle` before it re-seals anything,
/// so by then every instance that polls can open what the others seal under the new key.
public struct MasterKeyAnnouncements: Sendable {
    static let revisionName = "keyring"
    /// How long an announced key only opens before instances seal with it.
    public static let defaultSettle: Duration = .seconds(2)

    let store: KeywardStore
    let clock: KeywardClock

    public init(store: KeywardStore, clock: KeywardClock = .system) {
        self.store = store
        self.clock = clock
    }

    static func context(_ keyID: String) -> String { "master_key:\(keyID)" }

    struct Row: Decodable {
        let key_id: String
        let wrapped_key: String
        let announced_ms: Int64
    }

    /// Announces `next` (sealed under `current.primary`). Idempotent: a resumed rotation keeps its
    /// first announcement time.
    public func announce(_ next: MasterKey, sealedUnder current: MasterKeyring) async throws {
        let wrapped = try current.seal(next.rawBytes, context: Self.context(next.id))
        let now = Int64(clock.now().timeIntervalSince1970 * 1000)
        // Writes first (no read-then-write upgrade, which SQLite answers with "locked" under contention).
        try await store.transaction { sql in
            try await sql.raw(
                """
                INSERT INTO master_key_announcements (key_id, wrapped_key, announced_ms) VALUES (\(bind: next.id), \(bind: wrapped), \(bind: now))
                ON CONFLICT (key_id) DO NOTHING
                """
            ).run()
            try await sql.raw("UPDATE keyward_revisions SET value = value + 1 WHERE name = \(bind: Self.revisionName)").run()
        }
    }

    /// Removes the announcement of `keyID` once the rotation is finished.
    public func withdraw(_ keyID: String) async throws {
        try await store.transaction { sql in
            try await sql.delete(from: "master_key_announcements").where("key_id", .equal, keyID).run()
            try await sql.raw("UPDATE keyward_revisions SET value = value + 1 WHERE name = \(bind: Self.revisionName)").run()
        }
    }

    /// The keyring revision (changes on every announcement and withdrawal).
    func revision() async throws -> Int64 {
        struct Row: Decodable { let value: Int64 }
        return try await store.sql.raw("SELECT value FROM keyward_revisions WHERE name = \(bind: Self.revisionName)")
            .first(decoding: Row.self)?.value ?? 0
    }

    /// Adds every announced key `keyring` can open to it, and makes the newest announcement older
    /// than `settle` the sealing key. Returns whether a settled announcement is still pending adoption
    /// as primary (the caller looks again later even if nothing else changes).
    @discardableResult
    public func adopt(into keyring: MasterKeyring, settle: Duration = defaultSettle, logger: Logger? = nil) async throws -> Bool {
        let rows = try await store.sql.select().columns("key_id", "wrapped_key", "announced_ms").from("master_key_announcements")
            .orderBy("announced_ms").all(decoding: Row.self)
        // Announcements may chain (a second rotation before the first was withdrawn): open in order.
        var opened: [MasterKey] = []
        for row in rows where !keyring.knows(row.key_id) {
            do {
                let bytes = try keyring.open(row.wrapped_key, context: Self.context(row.key_id))
                let key = try MasterKey(bytes: bytes)
                guard key.id == row.key_id else { continue }
                keyring.adopt([key])
                opened.append(key)
                logger?.notice("adopted an announced master key for opening", metadata: ["master_key_id": "\(key.id)"])
            } catch {
                logger?.warning(
                    "cannot open an announced master key with this instance's keys",
                    metadata: ["master_key_id": "\(row.key_id)", "error": "\(error)"]
                )
            }
        }
        guard let newest = rows.last, keyring.knows(newest.key_id) else { return false }
        let settleMs = Int64(settle.components.seconds * 1000 + settle.components.attoseconds / 1_000_000_000_000_000)
        let now = Int64(clock.now().timeIntervalSince1970 * 1000)
        if now - newest.announced_ms >= settleMs {
            if keyring.primary.id != newest.key_id {
                keyring.adopt([], primary: newest.key_id)
                logger?.notice("sealing with the announced master key", metadata: ["master_key_id": "\(newest.key_id)"])
            }
            return false
        }
        return true
    }
}

/// Background service: polls the keyring revision and adopts announced keys (see `MasterKeyAnnouncements`).
public struct MasterKeyWatcher: Service {
    let announcements: MasterKeyAnnouncements
    let keyring: MasterKeyring
    let pollInterval: Duration
    let settle: Duration
    let logger: Logger

    public init(
        announcements: MasterKeyAnnouncements,
        keyring: MasterKeyring,
        pollInterval: Duration = .milliseconds(500),
        settle: Duration = MasterKeyAnnouncements.defaultSettle,
        logger: Logger
    ) {
        self.announcements = announcements
        self.keyring = keyring
        self.pollInterval = pollInterval
        self.settle = settle
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdownQuietly { await poll() }
    }

    private func cancelWhenGracefulShutdownQuietly(_ body: @escaping @Sendable () async -> Void) async {
        _ = try? await cancelWhenGracefulShutdown { await body() }
    }

    private func poll() async {
        var last: Int64?
        var pending = false
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                let revision = try await announcements.revision()
                if revision != last || pending {
                    pending = try await announcements.adopt(into: keyring, settle: settle, logger: logger)
                    last = revision
                }
            } catch {
                logger.warning("master key announcement poll failed", metadata: ["error": "\(String(describing: error).prefix(200))"])
            }
            try? await Task.sleep(for: pollInterval)
        }
    }
}
