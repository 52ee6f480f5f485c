import Foundation
import KeywardCrypto
import Logging
import SQLKit
import ServiceLifecycle
import Synchronization

/// A public key a merchant registered to sign requests.
public struct SigningKeyInfo: Sendable, Equatable {
    public let id: String
    public let merchantID: String
    public let mode: Mode
    public let name: String
    /// e.g. `Ed25519`, `RSA 2048`.
    public let algorithm: String
    /// SubjectPublicKeyInfo PEM.
    public let publicKeyPEM: String
    /// The end of the certificate's validity, when the key came in a certificate.
    public let notAfter: Date?
    public let createdAt: Date
    public let revokedAt: Date?
    /// Whether Keyward keeps the (generated) private key sealed for export.
    public let privateKeyKept: Bool
    /// What requests it signs may do, from where, until when.
    public let limits: CredentialLimits
}

struct SigningKeyRow: MerchantCredentialRow {
    static let table = "signing_keys"
    static let idPrefix = "sgk"
    static let noun = "signing key"

    let id: String
    let merchant_id: String
    let mode: String
    let name: String
    let public_key_pem: String
    let algorithm: String
    let not_after_ms: Int64?
    let created_ms: Int64
    var revoked_ms: Int64?
    var sealed_private_key: String?
    let permissions: String?
    let allowed_ips: String?
    let expires_ms: Int64?

    static func privateKeyContext(id: String) -> String { "signing_key_private:\(id)" }

    var info: SigningKeyInfo {
        SigningKeyInfo(
            id: id,
            merchantID: merchant_id,
            mode: Mode(rawValue: mode) ?? .test,
            name: name,
            algorithm: algorithm,
            publicKeyPEM: public_key_pem,
            notAfter: not_after_ms.map(Date.init(millis:)),
            createdAt: Date(millis: created_ms),
            revokedAt: revoked_ms.map(Date.init(millis:)),
            privateKeyKept: sealed_private_key != nil,
            limits: CredentialLimits(storedPermissions: permissions, storedAllowedIPs: allowed_ips, expiresMillis: expires_ms)
        )
    }
}

/// Registers, lists and revokes merchants' public signing keys, and resolves them for the gateway.
public struct SigningKeyService: Sendable {
    let store: KeywardStore
    let keyring: MasterKeyring
    let changes: CredentialChanges
    let clock: KeywardClock
    private let resolved: RevisionedCache<String, ResolvedSigningKeys.Entry>
    private let nonces: NonceLedger

    public init(store: KeywardStore, keyring: MasterKeyring, changes: CredentialChanges, clock: KeywardClock = .system) {
        self.store = store
        self.keyring = keyring
        self.changes = changes
        self.clock = clock
        self.resolved = RevisionedCache(limit: 50_000, invalidatedBy: changes)
        self.nonces = NonceLedger(store: store)
    }

    private var lifecycle: CredentialLifecycle { CredentialLifecycle(store: store, changes: changes, clock: clock) }

    /// Registers the public key in `pem` (certificate, SPKI or PKCS#1). RSA below 2048 bits is refused in
    /// live mode (test mode takes 1024: the public myPOS sandbox key); expired certificates are refused.
    /// `keepingPrivateKey` (PKCS#8 PEM of a key Keyward generated) is stored sealed for later export.
    /// The key's limits are `requested`, never wider than `minter` holds.
    public func register(
        merchantID: String,
        mode: Mode,
        name: String?,
        pem: String,
        keepingPrivateKey: String? = nil,
        limits requested: RequestedLimits,
        by minter: Minter
    ) async throws -> SigningKeyInfo {
        _ = try await MerchantService(store: store, clock: clock).get(id: merchantID)
        let name = try Validation.name(name ?? "Signing key", field: "name")
        guard pem.utf8.count <= 64 * 1024 else {
            throw KeywardError.invalid(.invalidPublicKey, "A public key or certificate is at most 64 KiB.", field: "public_key")
        }
        let imported: ImportedPublicKey
        do {
            let keys = try PublicKeyImport.parse(pem: pem, minimumRSABits: mode == .live ? 2048 : 1024)
            guard keys.count == 1, let only = keys.first else {
                throw KeywardError.invalid(.invalidPublicKey, "Send exactly one certificate or public key per registration.", field: "public_key")
            }
            imported = only
        } catch let error as KeyImportError {
            throw KeywardError.invalid(error.code, error.message, field: "public_key")
        }
        let now = clock.now()
        let limits = try minter.limits(for: requested, managing: false, now: now)
        if let notAfter = imported.notValidAfter, notAfter <= now {
            throw KeywardError.invalid(.certificateExpired, "The certificate expired on \(notAfter.formatted(.iso8601)).", field: "public_key")
        }
        let id = Identifier.make("sgk")
        let sealed = try keepingPrivateKey.map { try keyring.seal(string: $0, context: SigningKeyRow.privateKeyContext(id: id)) }
        let row = SigningKeyRow(
            id: id,
            merchant_id: merchantID,
            mode: mode.rawValue,
            name: name,
            public_key_pem: imported.key.spkiPEM,
            algorithm: imported.key.algorithmDescription,
            not_after_ms: imported.notValidAfter?.millis,
            created_ms: now.millis,
            revoked_ms: nil,
            sealed_private_key: sealed,
            permissions: limits.storedPermissions,
            allowed_ips: limits.storedAllowedIPs,
            expires_ms: limits.expiresMillis
        )
        try await lifecycle.create(row)
        return row.info
    }

    /// Keys of a merchant in one mode, newest first, `limit` at a time after the key `startingAfter`.
    public func list(merchantID: String, mode: Mode, limit: Int = 1000, startingAfter: String? = nil) async throws -> [SigningKeyInfo] {
        try await lifecycle.list(SigningKeyRow.self, merchantID: merchantID, mode: mode, limit: limit, startingAfter: startingAfter).map(\.info)
    }

    /// Revokes a key at once, on every instance.
    public func revoke(merchantID: String, mode: Mode, id: String) async throws -> SigningKeyInfo {
        try await lifecycle.revoke(lifecycle.find(SigningKeyRow.self, merchantID: merchantID, mode: mode, id: id)).info
    }

    /// A key the gateway can verify with, with its owner; `nil` if unknown, revoked or expired. Cached
    /// like secret keys (dropped on any credential change), so the hot path reads no row and parses no PEM.
    /// `merchantAllowedIPs` is the merchant's allowlist (Settings), which every credential must also satisfy.
    public func resolve(id: String) async throws -> (key: VerificationKey, owner: SigningKeyInfo, mid: String, merchantAllowedIPs: [IPNetwork])? {
        guard Identifier.isWellFormed(id, prefix: "sgk") else { return nil }
        guard let entry = try await resolved.value(for: id, load: { try await load(id: id) }) else { return nil }
        if let notAfter = entry.owner.notAfter, notAfter <= clock.now() { return nil }
        return (entry.key, entry.owner, entry.mid, entry.merchantAllowedIPs)
    }

    private func load(id: String) async throws -> ResolvedSigningKeys.Entry? {
        struct Row: Decodable {
            let id: String, merchant_id: String, mode: String, name: String, public_key_pem: String, algorithm: String
            let not_after_ms: Int64?, created_ms: Int64, revoked_ms: Int64?, mid: String
            let permissions: String?, allowed_ips: String?, expires_ms: Int64?, merchant_allowed_ips: String?
        }
        guard
            let row = try await store.sql.raw(
                """
                SELECT k.id, k.merchant_id, k.mode, k.name, k.public_key_pem, k.algorithm, k.not_after_ms, k.created_ms, k.revoked_ms, m.mid,
                       k.permissions, k.allowed_ips, k.expires_ms, s.allowed_ips AS merchant_allowed_ips
                FROM signing_keys k JOIN merchants m ON m.id = k.merchant_id
                LEFT JOIN merchant_settings s ON s.merchant_id = k.merchant_id WHERE k.id = \(bind: id)
                """
            ).first(decoding: Row.self), row.revoked_ms == nil
        else { return nil }
        guard let key = try? PublicKeyImport.parse(pem: row.public_key_pem, minimumRSABits: 1024).first?.key else { return nil }
        let info = SigningKeyRow(
            id: row.id,
            merchant_id: row.merchant_id,
            mode: row.mode,
            name: row.name,
            public_key_pem: row.public_key_pem,
            algorithm: row.algorithm,
            not_after_ms: row.not_after_ms,
            created_ms: row.created_ms,
            revoked_ms: nil,
            sealed_private_key: nil,
            permissions: row.permissions,
            allowed_ips: row.allowed_ips,
            expires_ms: row.expires_ms
        ).info
        return .init(
            key: key,
            owner: info,
            mid: row.mid,
            merchantAllowedIPs: row.merchant_allowed_ips.flatMap { JSONText.decode([IPNetwork].self, $0) } ?? []
        )
    }

    /// The kept private key of an active key (PKCS#8 PEM); 409 `private_key_not_kept` when Keyward was not asked to keep it.
    public func exportPrivateKey(merchantID: String, mode: Mode, id: String) async throws -> String {
        guard Identifier.isWellFormed(id, prefix: "sgk"),
            let row = try await store.sql.select().column("*").from("signing_keys")
                .where("id", .equal, id).where("merchant_id", .equal, merchantID).where("mode", .equal, mode.rawValue)
                .first(decoding: SigningKeyRow.self)
        else { throw KeywardError.notFound("signing key", id: id) }
        guard row.revoked_ms == nil else {
            throw KeywardError(.conflict, .keyRevoked, "Key \(id) is revoked; its private key is no longer handed out.")
        }
        guard let sealed = row.sealed_private_key else {
            throw KeywardError(
                .conflict,
                .privateKeyNotKept,
                "Keyward keeps only the public part of key \(id); the private key was shown once at generation."
            )
        }
        return try keyring.openString(sealed, context: SigningKeyRow.privateKeyContext(id: id))
    }

    /// Marks `nonce` of `keyID` used until `expires`; `false` when it was used already (a replay). Exact
    /// across instances (the unique index decides); concurrent calls share one statement (`NonceLedger`).
    /// Expired nonces are pruned in the background (`NoncePruner`), not here.
    public func useNonce(keyID: String, nonce: String, expires: Date) async throws -> Bool {
        try await nonces.use(keyID: keyID, nonce: nonce, expiresMillis: expires.millis)
    }
}

/// Deletes nonces whose signatures can no longer be accepted anyway, every `interval`, with one
/// indexed DELETE (instead of one per signed request).
public struct NoncePruner: Service {
    let store: KeywardStore
    let clock: KeywardClock
    let interval: Duration
    let logger: Logger

    public init(store: KeywardStore, clock: KeywardClock = .system, interval: Duration = .seconds(30), logger: Logger) {
        self.store = store
        self.clock = clock
        self.interval = interval
        self.logger = logger
    }

    /// Removes expired nonces now.
    public func prune() async throws {
        try await store.sql.delete(from: "signature_nonces").where("expires_ms", .lessThan, clock.now().millis).run()
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                if Task.isCancelled { break }
                do { try await prune() } catch { logger.warning("pruning expired nonces failed", metadata: ["error_type": "\(type(of: error))"]) }
            }
        }
    }
}

/// Active signing keys already read and parsed, by id, kept in a `RevisionedCache` (emptied on every
/// credential change).
enum ResolvedSigningKeys {
    struct Entry: Sendable {
        let key: VerificationKey
        let owner: SigningKeyInfo
        let mid: String
        let merchantAllowedIPs: [IPNetwork]
    }
}
