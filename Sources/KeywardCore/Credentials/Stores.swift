import Foundation
import KeywardCrypto
import SQLKit

/// The provider dialect a store speaks.
public enum StoreDialect: String, Sendable, CaseIterable, Codable {
    /// myPOS Checkout (IPC): form posts with `SID`, `WalletNumber`, `KeyIndex`, `Signature`.
    case mypos
    /// AliKassa: `Account` and `Sign` headers over the raw JSON body.
    case alikassa
}

/// A merchant's store in a provider dialect, the thing `SID` (myPOS) or `Account` (AliKassa) names.
public struct StoreInfo: Sendable, Equatable {
    public let id: String
    public let merchantID: String
    public let mode: Mode
    public let dialect: StoreDialect
    public let name: String
    /// myPOS `SID` or AliKassa account UUID: unique across Keyward, since it alone finds the store.
    public let externalID: String
    /// myPOS `WalletNumber`.
    public let walletNumber: String?
    /// Whether an identical signed request is refused when sent again within 24 hours (myPOS).
    public let rejectReplays: Bool
    public let createdAt: Date
}

/// A merchant public key under a store's key index, with the platform certificate that answers it.
public struct StoreKeyInfo: Sendable, Equatable {
    public let id: String
    public let storeID: String
    public let keyIndex: Int
    public let name: String
    public let algorithm: String
    public let publicKeyPEM: String
    public let notAfter: Date?
    /// AliKassa keys registered as legacy are checked with SHA-1; every other key with SHA-256.
    public let legacySHA1: Bool
    /// The self-signed certificate of the platform key Keyward signs answers with (PEM).
    public let platformCertificatePEM: String
    public let createdAt: Date
    public let revokedAt: Date?
    /// Whether Keyward keeps the (generated) merchant private key sealed for export.
    public let privateKeyKept: Bool
    /// What requests this index signs may do, from where, until when.
    public let limits: CredentialLimits

    /// The digest signatures under this key are made with.
    public var digest: SignatureDigest { legacySHA1 ? .sha1 : .sha256 }
}

/// What to create a store with; identifiers left out are generated.
public struct NewStore: Sendable {
    public var name: String?
    public var dialect: StoreDialect
    /// myPOS `SID` (an existing integration's), or AliKassa account UUID.
    public var externalID: String?
    public var walletNumber: String?
    public var rejectReplays: Bool

    public init(name: String?, dialect: StoreDialect, externalID: String? = nil, walletNumber: String? = nil, rejectReplays: Bool = false) {
        self.name = name
        self.dialect = dialect
        self.externalID = externalID
        self.walletNumber = walletNumber
        self.rejectReplays = rejectReplays
    }
}

struct StoreRow: MerchantScopedRow {
    static let table = "stores"
    static let idPrefix = "sto"
    static let noun = "store"

    let id: String
    let merchant_id: String
    let mode: String
    let dialect: String
    let name: String
    let external_id: String
    let wallet_number: String?
    let reject_replays: Int64
    let created_ms: Int64

    var info: StoreInfo {
        StoreInfo(
            id: id,
            merchantID: merchant_id,
            mode: Mode(rawValue: mode) ?? .test,
            dialect: StoreDialect(rawValue: dialect) ?? .mypos,
            name: name,
            externalID: external_id,
            walletNumber: wallet_number,
            rejectReplays: reject_replays != 0,
            createdAt: Date(millis: created_ms)
        )
    }
}

struct StoreKeyRow: RevocableRow {
    static let table = "store_keys"

    let id: String
    let store_id: String
    let key_index: Int64
    let name: String
    let public_key_pem: String
    let algorithm: String
    let not_after_ms: Int64?
    let legacy_sha1: Int64
    let platform_certificate_pem: String
    let sealed_platform_key: String
    let created_ms: Int64
    var revoked_ms: Int64?
    var sealed_private_key: String?
    let permissions: String?
    let allowed_ips: String?
    let expires_ms: Int64?

    var info: StoreKeyInfo {
        StoreKeyInfo(
            id: id,
            storeID: store_id,
            keyIndex: Int(key_index),
            name: name,
            algorithm: algorithm,
            publicKeyPEM: public_key_pem,
            notAfter: not_after_ms.map(Date.init(millis:)),
            legacySHA1: legacy_sha1 != 0,
            platformCertificatePEM: platform_certificate_pem,
            createdAt: Date(millis: created_ms),
            revokedAt: revoked_ms.map(Date.init(millis:)),
            privateKeyKept: sealed_private_key != nil,
            limits: CredentialLimits(storedPermissions: permissions, storedAllowedIPs: allowed_ips, expiresMillis: expires_ms)
        )
    }

    static func sealContext(id: String) -> String { "store_key:\(id)" }
    static func privateKeyContext(id: String) -> String { "store_key_private:\(id)" }
}

/// Stores and their key indexes (management side; the gateway reads them through `StoreDirectory`).
public struct StoreService: Sendable {
    let store: KeywardStore
    let keyring: MasterKeyring
    let changes: CredentialChanges
    let clock: KeywardClock
    /// Where each key index's platform RSA key pair is generated (off the event loops, bounded).
    let heavyWork: HeavyWork
    /// Most keys one store holds; rotation needs two or three.
    static let maximumKeys = 20
    static let maximumKeyIndex = 9999

    public init(
        store: KeywardStore,
        keyring: MasterKeyring,
        changes: CredentialChanges,
        clock: KeywardClock = .system,
        heavyWork: HeavyWork = .shared
    ) {
        self.store = store
        self.keyring = keyring
        self.changes = changes
        self.clock = clock
        self.heavyWork = heavyWork
    }

    private var lifecycle: CredentialLifecycle { CredentialLifecycle(store: store, changes: changes, clock: clock) }

    /// Creates a store; its `SID`/`WalletNumber` or account UUID are generated unless given.
    public func create(merchantID: String, mode: Mode, _ new: NewStore) async throws -> StoreInfo {
        _ = try await MerchantService(store: store, clock: clock).get(id: merchantID)
        let name = try Validation.name(new.name ?? "Store", field: "name")
        let externalID: String
        var wallet: String?
        switch new.dialect {
        case .mypos:
            externalID = try new.externalID.map { v throws(KeywardError) in try StoreValidation.sid(v) } ?? StoreValidation.digits(15)
            wallet = try new.walletNumber.map { v throws(KeywardError) in try StoreValidation.wallet(v) } ?? StoreValidation.digits(11)
        case .alikassa:
            guard new.walletNumber == nil else {
                throw KeywardError.invalid(.unknownField, "'wallet_number' is a myPOS field.", field: "wallet_number")
            }
            externalID = try new.externalID.map { v throws(KeywardError) in try StoreValidation.account(v) } ?? UUID().uuidString.lowercased()
        }
        if try await store.sql.select().column("id").from("stores")
            .where("dialect", .equal, new.dialect.rawValue).where("external_id", .equal, externalID).first() != nil
        {
            let field = new.dialect == .mypos ? "sid" : "account"
            throw KeywardError(
                .conflict,
                .storeIDTaken,
                "Another store already uses \(new.dialect == .mypos ? "SID" : "account") '\(externalID)'; each one names exactly one store.",
                field: field
            )
        }
        let row = StoreRow(
            id: Identifier.make("sto"),
            merchant_id: merchantID,
            mode: mode.rawValue,
            dialect: new.dialect.rawValue,
            name: name,
            external_id: externalID,
            wallet_number: wallet,
            reject_replays: new.rejectReplays ? 1 : 0,
            created_ms: clock.now().millis
        )
        try await lifecycle.create(row)
        return row.info
    }

    /// The merchant's stores in `mode`, newest first, `limit` at a time after the store `startingAfter`.
    public func list(merchantID: String, mode: Mode, limit: Int = 1000, startingAfter: String? = nil) async throws -> [StoreInfo] {
        try await lifecycle.list(StoreRow.self, merchantID: merchantID, mode: mode, limit: limit, startingAfter: startingAfter).map(\.info)
    }

    /// One store of the merchant in `mode`.
    public func get(merchantID: String, mode: Mode, id: String) async throws -> StoreInfo {
        try await lifecycle.find(StoreRow.self, merchantID: merchantID, mode: mode, id: id).info
    }

    /// The keys of a store, by key index.
    public func keys(storeID: String) async throws -> [StoreKeyInfo] {
        try await store.sql.select().column("*").from("store_keys").where("store_id", .equal, storeID)
            .orderBy("key_index").all(decoding: StoreKeyRow.self).map(\.info)
    }

    /// Registers every public key in `pem` (certificates, PKCS#7 bundle, SPKI or PKCS#1) under
    /// successive key indexes, or the one key under `keyIndex`, each with a new platform key pair.
    /// `keepingPrivateKey` (the PKCS#8 PEM of a key Keyward generated) is stored sealed for later export.
    /// Each index's limits are `requested`, never wider than `minter` holds.
    public func addKeys(
        merchantID: String,
        mode: Mode,
        storeID: String,
        pem: String,
        keyIndex: Int? = nil,
        name: String? = nil,
        legacySHA1: Bool = false,
        keepingPrivateKey: String? = nil,
        limits requested: RequestedLimits,
        by minter: Minter
    ) async throws -> [StoreKeyInfo] {
        let owner = try await get(merchantID: merchantID, mode: mode, id: storeID)
        let limits = try minter.limits(for: requested, managing: false, now: clock.now())
        let name = try Validation.name(name ?? "Key", field: "name")
        if legacySHA1 && owner.dialect != .alikassa {
            throw KeywardError.invalid(.invalidField, "'legacy_sha1' applies to AliKassa keys only; myPOS signs with SHA-256.", field: "legacy_sha1")
        }
        let imported = try StoreValidation.publicKeys(pem, mode: mode, now: clock.now())
        if keyIndex != nil && imported.count != 1 {
            throw KeywardError.invalid(
                .invalidPublicKey,
                "'key_index' names one index; this upload holds \(imported.count) keys.",
                field: "key_index"
            )
        }
        let existing = try await keys(storeID: storeID)
        guard existing.filter({ $0.revokedAt == nil }).count + imported.count <= Self.maximumKeys else {
            throw KeywardError(.conflict, .tooManyKeys, "A store holds at most \(Self.maximumKeys) active keys; revoke old ones first.")
        }
        let used = Set(existing.map(\.keyIndex))
        var indexes = [Int]()
        if let keyIndex {
            guard (1...Self.maximumKeyIndex).contains(keyIndex) else {
                throw KeywardError.invalid(.invalidKeyIndex, "'key_index' must be from 1 to \(Self.maximumKeyIndex).", field: "key_index")
            }
            guard !used.contains(keyIndex) else {
                throw KeywardError(
                    .conflict,
                    .keyIndexTaken,
                    "Key index \(keyIndex) of this store is already used (revoked indexes are not reused); choose another.",
                    field: "key_index"
                )
            }
            indexes = [keyIndex]
        } else {
            var next = (used.max() ?? 0) + 1
            for _ in imported {
                indexes.append(next)
                next += 1
            }
            guard (indexes.last ?? 0) <= Self.maximumKeyIndex else {
                throw KeywardError.invalid(.invalidKeyIndex, "This store has used up its key indexes.", field: "key_index")
            }
        }
        let now = clock.now()
        var rows = [StoreKeyRow]()
        for (key, index) in zip(imported, indexes) {
            let id = Identifier.make("stk")
            let subject = "\(owner.dialect == .mypos ? "SID" : "account") \(owner.externalID) key index \(index)"
            let platform = try await heavyWork.run { try PlatformKeyPair.generate(subject: subject, now: now) }
            rows.append(
                StoreKeyRow(
                    id: id,
                    store_id: storeID,
                    key_index: Int64(index),
                    name: name,
                    public_key_pem: key.key.spkiPEM,
                    algorithm: key.key.algorithmDescription,
                    not_after_ms: key.notValidAfter?.millis,
                    legacy_sha1: legacySHA1 ? 1 : 0,
                    platform_certificate_pem: platform.certificatePEM,
                    sealed_platform_key: try keyring.seal(Array(platform.signingKey.pkcs8PEM.utf8), context: StoreKeyRow.sealContext(id: id)),
                    created_ms: now.millis,
                    revoked_ms: nil,
                    sealed_private_key: try keepingPrivateKey.map { try keyring.seal(string: $0, context: StoreKeyRow.privateKeyContext(id: id)) },
                    permissions: limits.storedPermissions,
                    allowed_ips: limits.storedAllowedIPs,
                    expires_ms: limits.expiresMillis
                )
            )
        }
        do {
            try await changes.commit(in: store, target: storeID) { [rows] sql in
                for row in rows { try await sql.insert(into: "store_keys").model(row).run() }
            }
        } catch {
            // Two uploads raced for the same index: the unique index let one through.
            let taken = Set(try await keys(storeID: storeID).map(\.keyIndex))
            if !taken.isDisjoint(with: indexes) {
                throw KeywardError(
                    .conflict,
                    .keyIndexTaken,
                    "Key index \(indexes.map(String.init).joined(separator: ", ")) was taken meanwhile; retry.",
                    field: "key_index"
                )
            }
            throw error
        }
        return rows.map(\.info)
    }

    /// Revokes the key under `keyIndex` at once, on every instance.
    public func revokeKey(merchantID: String, mode: Mode, storeID: String, keyIndex: Int) async throws -> StoreKeyInfo {
        _ = try await get(merchantID: merchantID, mode: mode, id: storeID)
        guard
            let row = try await store.sql.select().column("*").from("store_keys")
                .where("store_id", .equal, storeID).where("key_index", .equal, Int64(keyIndex)).first(decoding: StoreKeyRow.self)
        else { throw KeywardError(.notFound, .resourceMissing, "Store \(storeID) has no key index \(keyIndex).") }
        return try await lifecycle.revoke(row, target: storeID).info
    }

    /// The kept merchant private key under `keyIndex` (PKCS#8 PEM); 409 `private_key_not_kept` otherwise.
    public func exportPrivateKey(merchantID: String, mode: Mode, storeID: String, keyIndex: Int) async throws -> String {
        _ = try await get(merchantID: merchantID, mode: mode, id: storeID)
        guard
            let row = try await store.sql.select().column("*").from("store_keys")
                .where("store_id", .equal, storeID).where("key_index", .equal, Int64(keyIndex)).first(decoding: StoreKeyRow.self)
        else { throw KeywardError(.notFound, .resourceMissing, "Store \(storeID) has no key index \(keyIndex).") }
        guard row.revoked_ms == nil else {
            throw KeywardError(.conflict, .keyRevoked, "Key index \(keyIndex) is revoked; its private key is no longer handed out.")
        }
        guard let sealed = row.sealed_private_key else {
            throw KeywardError(
                .conflict,
                .privateKeyNotKept,
                "Keyward keeps only the public part of key index \(keyIndex); the private key was shown once at generation."
            )
        }
        return try keyring.openString(sealed, context: StoreKeyRow.privateKeyContext(id: row.id))
    }

    /// The key under `keyIndex` (revoked ones too: their certificates still explain old answers).
    public func key(merchantID: String, mode: Mode, storeID: String, keyIndex: Int) async throws -> StoreKeyInfo {
        _ = try await get(merchantID: merchantID, mode: mode, id: storeID)
        guard
            let row = try await store.sql.select().column("*").from("store_keys")
                .where("store_id", .equal, storeID).where("key_index", .equal, Int64(keyIndex)).first(decoding: StoreKeyRow.self)
        else { throw KeywardError(.notFound, .resourceMissing, "Store \(storeID) has no key index \(keyIndex).") }
        return row.info
    }
}
