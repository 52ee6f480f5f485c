import Foundation
import KeywardCrypto
import SQLKit
import Synchronization

/// The rate limits a merchant set: one for all its credentials of a mode (`merchant`, default
/// `RateLimitPolicy.merchantDefault`) and optionally one per credential (`key`: a secret key, signing key or
/// provider store key index, by id). Both apply: a request is admitted only when each has room.
///
/// Lookups are cached per merchant in a `RevisionedCache`, forgotten at every credential change
/// (`CredentialChanges`), so a new limit applies on every instance as soon as the change is announced.
public final class RateLimitSettings: Sendable {
    /// One limit as stored and shown.
    public struct Entry: Sendable, Equatable, Codable {
        /// `merchant` or a credential's id.
        public let subject: String
        public let mode: Mode
        public let quota: Int
        public let windowSeconds: Int
        public let updatedAt: Date
    }

    let store: KeywardStore
    let changes: CredentialChanges
    let clock: KeywardClock
    /// Requests a second of a merchant that set no limit of its own, per mode.
    let defaults: (live: Int, test: Int)
    private let cache: RevisionedCache<String, [Entry]>

    public init(
        store: KeywardStore,
        changes: CredentialChanges,
        defaults: (live: Int, test: Int) = RateLimitPolicy.stripeDefaults,
        clock: KeywardClock = .system
    ) {
        self.store = store
        self.defaults = defaults
        self.changes = changes
        self.clock = clock
        self.cache = RevisionedCache(limit: 50_000, invalidatedBy: changes)
    }

    struct Row: Codable {
        let merchant_id: String
        let subject: String
        let mode: String
        let quota: Int64
        let window_seconds: Int64
        let updated_ms: Int64
    }

    /// The policies that apply to a verified request by `key`: the merchant's for the key's mode, and
    /// the key's own when it has one.
    public func policies(for key: AuthenticatedKey) async throws -> [RateLimitPolicy] {
        let entries = try await entries(merchantID: key.merchantID)
        var policies = [
            entries.first { $0.subject == "merchant" && $0.mode == key.mode }
                .map { RateLimitPolicy(name: "merchant", quota: $0.quota, windowSeconds: $0.windowSeconds) }
                ?? defaultPolicy(key.mode)
        ]
        if let own = entries.first(where: { $0.subject == key.rateLimitSubject }) {
            policies.append(RateLimitPolicy(name: "key", quota: own.quota, windowSeconds: own.windowSeconds))
        }
        return policies
    }

    /// The merchant-wide policy of `mode` for a merchant that set none.
    public func defaultPolicy(_ mode: Mode) -> RateLimitPolicy {
        RateLimitPolicy(name: "merchant", quota: mode == .live ? defaults.live : defaults.test, windowSeconds: 1)
    }

    /// Every limit the merchant set, with the defaults of modes it did not set.
    public func list(merchantID: String) async throws -> [Entry] {
        try await entries(merchantID: merchantID)
    }

    /// Sets the merchant-wide limit of `mode` (`subject` "merchant") or a credential's own limit. A
    /// credential must be the merchant's, in that mode.
    public func set(merchantID: String, mode: Mode, subject: String, quota: Int, windowSeconds: Int) async throws -> Entry {
        _ = try RateLimitPolicy.validated(name: subject == "merchant" ? "merchant" : "key", quota: quota, windowSeconds: windowSeconds)
        if subject != "merchant" { try await requireCredential(subject, merchantID: merchantID, mode: mode) }
        let now = clock.now()
        let row = Row(
            merchant_id: merchantID,
            subject: subject,
            mode: mode.rawValue,
            quota: Int64(quota),
            window_seconds: Int64(windowSeconds),
            updated_ms: now.millis
        )
        try await changes.commit(in: store) { sql in
            try await sql.delete(from: "rate_limits").where("merchant_id", .equal, merchantID).where("subject", .equal, subject)
                .where("mode", .equal, mode.rawValue).run()
            try await sql.insert(into: "rate_limits").model(row).run()
        }
        return Entry(subject: subject, mode: mode, quota: quota, windowSeconds: windowSeconds, updatedAt: Date(millis: now.millis))
    }

    /// Removes a limit (the merchant default applies again, or the credential has none of its own).
    /// Returns whether there was one.
    public func remove(merchantID: String, mode: Mode, subject: String) async throws -> Bool {
        let existing = try await entries(merchantID: merchantID).contains { $0.subject == subject && $0.mode == mode }
        guard existing else { return false }
        try await changes.commit(in: store) { sql in
            try await sql.delete(from: "rate_limits").where("merchant_id", .equal, merchantID).where("subject", .equal, subject)
                .where("mode", .equal, mode.rawValue).run()
        }
        return true
    }

    private func entries(merchantID: String) async throws -> [Entry] {
        let (cached, revision) = cache.lookup(merchantID)
        if let cached { return cached }
        let rows = try await store.sql.select().column("*").from("rate_limits").where("merchant_id", .equal, merchantID)
            .all(decoding: Row.self)
        let entries = rows.compactMap { row in
            Mode(rawValue: row.mode).map {
                Entry(
                    subject: row.subject,
                    mode: $0,
                    quota: Int(row.quota),
                    windowSeconds: Int(row.window_seconds),
                    updatedAt: Date(millis: row.updated_ms)
                )
            }
        }
        cache.store(entries, for: merchantID, readAt: revision)
        return entries
    }

    /// A credential id the merchant may put a limit on: one of its active credentials of that mode.
    private func requireCredential(_ id: String, merchantID: String, mode: Mode) async throws {
        struct Found: Decodable { let id: String }
        for table in ["secret_keys", "signing_keys", "jwe_keys"] {
            let found = try await store.sql.select().column("id").from(table).where("id", .equal, id)
                .where("merchant_id", .equal, merchantID).where("mode", .equal, mode.rawValue).first(decoding: Found.self)
            if found != nil { return }
        }
        let index = try await store.sql.raw(
            """
            SELECT store_keys.id AS id FROM store_keys JOIN stores ON stores.id = store_keys.store_id
            WHERE store_keys.id = \(bind: id) AND stores.merchant_id = \(bind: merchantID) AND stores.mode = \(bind: mode.rawValue)
            """
        ).first(decoding: Found.self)
        if index != nil { return }
        throw KeywardError.notFound("credential", id: id)
    }
}
