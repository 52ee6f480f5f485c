import Foundation
import KeywardCrypto
import SQLKit

/// What a listing shows of a secret API key: never the key itself.
public struct SecretKeyInfo: Sendable, Codable, Equatable {
    /// Key id (`key_…`).
    public let id: String
    /// Owning merchant.
    public let merchantID: String
    /// Test or live.
    public let mode: Mode
    /// The merchant's label.
    public let name: String
    /// `kw_test_` / `kw_live_`.
    public let prefix: String
    /// Last four characters of the key.
    public let last4: String
    /// Scopes of a restricted key; `nil` for an unrestricted key.
    public let permissions: [String]?
    /// Networks the key may be used from; empty = anywhere.
    public let allowedIPs: [IPNetwork]
    /// When it stops working, if ever.
    public let expiresAt: Date?
    /// When it was revoked.
    public let revokedAt: Date?
    /// Last successful use, recorded with up to a few seconds' delay.
    public let lastUsedAt: Date?
    /// Creation time.
    public let createdAt: Date
    /// The key this one replaced by a roll.
    public let rolledFrom: String?
    /// The key that replaced this one by a roll.
    public let replacedBy: String?
}

/// A key as returned once at creation or roll: the only time the secret is visible.
public struct CreatedSecretKey: Sendable {
    /// The stored description.
    public let info: SecretKeyInfo
    /// The full key. Show it once; Keyward keeps only its hash.
    public let secret: String
}

struct SecretKeyRow: RollableRow {
    static let table = "secret_keys"
    static let idPrefix = "key"
    static let noun = "secret key"

    let id: String
    let merchant_id: String
    let mode: String
    let name: String
    let secret_hash: String
    let last4: String
    let permissions: String?
    let allowed_ips: String
    let expires_ms: Int64?
    var revoked_ms: Int64?
    let last_used_ms: Int64?
    let created_ms: Int64
    let rolled_from: String?
    var replaced_by: String?

    var info: SecretKeyInfo {
        SecretKeyInfo(
            id: id,
            merchantID: merchant_id,
            mode: Mode(rawValue: mode) ?? .test,
            name: name,
            prefix: APIKeyFormat.prefix(for: Mode(rawValue: mode) ?? .test),
            last4: last4,
            permissions: permissions.flatMap { JSONText.decode([String].self, $0) },
            allowedIPs: JSONText.decode([IPNetwork].self, allowed_ips) ?? [],
            expiresAt: expires_ms.map(Date.init(millis:)),
            revokedAt: revoked_ms.map(Date.init(millis:)),
            lastUsedAt: last_used_ms.map(Date.init(millis:)),
            createdAt: Date(millis: created_ms),
            rolledFrom: rolled_from,
            replacedBy: replaced_by
        )
    }

    func status(at now: Date) -> CredentialStatus { info.status(at: now) }
}

/// Settings of a new secret key.
public struct SecretKeyOptions: Sendable {
    public var name: String?
    public var expiresAt: Date?
    public var permissions: [String]?
    public var allowedIPs: [String]?

    public init(name: String? = nil, expiresAt: Date? = nil, permissions: [String]? = nil, allowedIPs: [String]? = nil) {
        self.name = name
        self.expiresAt = expiresAt
        self.permissions = permissions
        self.allowedIPs = allowedIPs
    }
}

/// Creates, lists, rolls and revokes secret API keys. Every change bumps the credential revision so
/// every instance's cache forgets what it knew.
public struct SecretKeyService: Sendable {
    let store: KeywardStore
    let changes: CredentialChanges
    let clock: KeywardClock

    public init(store: KeywardStore, changes: CredentialChanges, clock: KeywardClock = .system) {
        self.store = store
        self.changes = changes
        self.clock = clock
    }

    /// Creates a key for `merchantID` in `mode`, never wider than `minter` holds (limits it leaves out
    /// are inherited from a restricted minter).
    public func create(merchantID: String, mode: Mode, options: SecretKeyOptions, by minter: Minter) async throws -> CreatedSecretKey {
        _ = try await MerchantService(store: store, clock: clock).get(id: merchantID)
        let now = clock.now()
        let name = try Validation.name(options.name ?? "Secret key", field: "name")
        let limits = try minter.limits(
            for: RequestedLimits(permissions: options.permissions, allowedIPs: options.allowedIPs, expiresAt: options.expiresAt),
            managing: true,
            now: now
        )
        let (row, secret) = Self.makeRow(
            merchantID: merchantID,
            mode: mode,
            name: name,
            permissions: limits.permissions,
            networks: limits.allowedIPs,
            expiresAt: limits.expiresAt,
            now: now,
            rolledFrom: nil
        )
        try await lifecycle.create(row)
        return CreatedSecretKey(info: row.info, secret: secret)
    }

    /// Creates `count` keys in batches (operator provisioning and benchmarks). Secrets are returned once.
    public func createMany(merchantID: String, mode: Mode, name: String, count: Int) async throws -> [CreatedSecretKey] {
        _ = try await MerchantService(store: store, clock: clock).get(id: merchantID)
        let name = try Validation.name(name, field: "name")
        var created = [CreatedSecretKey]()
        created.reserveCapacity(count)
        var remaining = count
        while remaining > 0 {
            let batch = (0..<min(remaining, 500)).map { _ in
                Self.makeRow(
                    merchantID: merchantID,
                    mode: mode,
                    name: name,
                    permissions: nil,
                    networks: [],
                    expiresAt: nil,
                    now: clock.now(),
                    rolledFrom: nil
                )
            }
            try await changes.commit(in: store) { sql in
                try await sql.insert(into: "secret_keys").models(batch.map(\.0)).run()
            }
            created += batch.map { CreatedSecretKey(info: $0.0.info, secret: $0.1) }
            remaining -= batch.count
        }
        return created
    }

    /// Keys of a merchant in one mode, newest first, `limit` at a time after the key `startingAfter`.
    public func list(merchantID: String, mode: Mode, limit: Int = 100, startingAfter: String? = nil) async throws -> [SecretKeyInfo] {
        try await lifecycle.list(SecretKeyRow.self, merchantID: merchantID, mode: mode, limit: limit, startingAfter: startingAfter).map(\.info)
    }

    /// One key.
    public func get(merchantID: String, mode: Mode, id: String) async throws -> SecretKeyInfo {
        try await row(merchantID: merchantID, mode: mode, id: id).info
    }

    /// Replaces a key with a new one of the same name, permissions and allowlist (and the same lifetime,
    /// if it had an expiry). The old key keeps working for `overlapSeconds` (0 = stops now, at most 7 days).
    /// Rolling hands out a secret, so the new key may reach no further than `minter` holds.
    public func roll(merchantID: String, mode: Mode, id: String, overlapSeconds: Int?, by minter: Minter) async throws -> CreatedSecretKey {
        let overlap = try Validation.overlap(overlapSeconds)
        let now = clock.now()
        let old = try await row(merchantID: merchantID, mode: mode, id: id)
        try CredentialLifecycle.checkRollable(old, at: now)
        let info = old.info
        let expiresAt = old.lifetime.map { now.addingTimeInterval($0) }
        try minter.admit(CredentialLimits(permissions: info.permissions, allowedIPs: info.allowedIPs, expiresAt: expiresAt), managing: true)
        let (row, secret) = Self.makeRow(
            merchantID: merchantID,
            mode: mode,
            name: info.name,
            permissions: info.permissions,
            networks: info.allowedIPs,
            expiresAt: expiresAt,
            now: now,
            rolledFrom: old.id
        )
        try await lifecycle.roll(old, overlap: overlap, into: row)
        return CreatedSecretKey(info: row.info, secret: secret)
    }

    /// Revokes a key at once, on every instance. Revoking a revoked key changes nothing.
    public func revoke(merchantID: String, mode: Mode, id: String) async throws -> SecretKeyInfo {
        try await lifecycle.revoke(row(merchantID: merchantID, mode: mode, id: id)).info
    }

    func row(merchantID: String, mode: Mode, id: String) async throws -> SecretKeyRow {
        try await lifecycle.find(SecretKeyRow.self, merchantID: merchantID, mode: mode, id: id)
    }

    private var lifecycle: CredentialLifecycle { CredentialLifecycle(store: store, changes: changes, clock: clock) }

    static func makeRow(
        merchantID: String,
        mode: Mode,
        name: String,
        permissions: [String]?,
        networks: [IPNetwork],
        expiresAt: Date?,
        now: Date,
        rolledFrom: String?
    ) -> (SecretKeyRow, String) {
        let secret = APIKeyFormat.generate(mode: mode)
        let row = SecretKeyRow(
            id: Identifier.make("key"),
            merchant_id: merchantID,
            mode: mode.rawValue,
            name: name,
            secret_hash: APIKeyFormat.digest(of: secret),
            last4: APIKeyFormat.lastFour(of: secret),
            permissions: permissions.map { JSONText.encode($0) },
            allowed_ips: JSONText.encode(networks),
            expires_ms: expiresAt?.millis,
            revoked_ms: nil,
            last_used_ms: nil,
            created_ms: now.millis,
            rolled_from: rolledFrom,
            replaced_by: nil
        )
        return (row, secret)
    }
}

/// JSON stored in text columns (lists), identical on SQLite and PostgreSQL.
enum JSONText {
    static func encode<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "[]"
    }

    static func decode<T: Decodable>(_ type: T.Type, _ text: String) -> T? {
        try? JSONDecoder().decode(type, from: Data(text.utf8))
    }
}
