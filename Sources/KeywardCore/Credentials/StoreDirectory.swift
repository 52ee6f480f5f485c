import Foundation
import KeywardCrypto
import SQLKit
import Synchronization

/// A store as the gateway needs it: the owner, and every active key with its opened platform key.
public struct ResolvedStore: Sendable {
    public let store: StoreInfo
    public let mid: String
    public let keys: [ResolvedStoreKey]
    /// The merchant's allowlist (Settings), which every credential must also satisfy.
    public let merchantAllowedIPs: [IPNetwork]

    /// The active key under `index`, if any (expired ones are left out at `now`).
    public func key(index: Int, now: Date) -> ResolvedStoreKey? {
        keys.first { $0.info.keyIndex == index && $0.isUsable(at: now) }
    }
}

/// An active store key ready for verification and for signing answers.
public struct ResolvedStoreKey: Sendable {
    public let info: StoreKeyInfo
    public let verificationKey: VerificationKey
    /// The platform key paired with this index: Keyward signs its answers with it.
    public let platformKey: RSASigningKey

    /// Not revoked and, when it came in a certificate or was given an expiry, not expired.
    public func isUsable(at now: Date) -> Bool {
        info.status(at: now).isUsable
    }
}

/// Finds stores by `SID` or account for the gateway. Results are cached in a `RevisionedCache`: dropped
/// on every credential change anywhere, like the secret-key cache.
public final class StoreDirectory: Sendable {
    let store: KeywardStore
    let keyring: MasterKeyring
    private let cache: RevisionedCache<String, ResolvedStore>

    public init(store: KeywardStore, keyring: MasterKeyring, changes: CredentialChanges) {
        self.store = store
        self.keyring = keyring
        self.cache = RevisionedCache(limit: 50_000, invalidatedBy: changes)
    }

    /// The store of `dialect` named `externalID` with its active keys, or `nil`.
    public func resolve(_ dialect: StoreDialect, externalID: String) async throws -> ResolvedStore? {
        guard (1...64).contains(externalID.utf8.count) else { return nil }
        let cacheKey = dialect.rawValue + ":" + externalID
        return try await cache.value(for: cacheKey) { try await load(dialect, externalID: externalID) }
    }

    private func load(_ dialect: StoreDialect, externalID: String) async throws -> ResolvedStore? {
        struct Row: Decodable {
            let id: String, merchant_id: String, mode: String, dialect: String, name: String, external_id: String
            let wallet_number: String?, reject_replays: Int64, created_ms: Int64, mid: String, merchant_allowed_ips: String?
        }
        guard
            let row = try await store.sql.raw(
                """
                SELECT s.id, s.merchant_id, s.mode, s.dialect, s.name, s.external_id, s.wallet_number, s.reject_replays, s.created_ms, m.mid,
                       ms.allowed_ips AS merchant_allowed_ips
                FROM stores s JOIN merchants m ON m.id = s.merchant_id LEFT JOIN merchant_settings ms ON ms.merchant_id = s.merchant_id
                WHERE s.dialect = \(bind: dialect.rawValue) AND s.external_id = \(bind: externalID)
                """
            ).first(decoding: Row.self)
        else { return nil }
        let info = StoreRow(
            id: row.id,
            merchant_id: row.merchant_id,
            mode: row.mode,
            dialect: row.dialect,
            name: row.name,
            external_id: row.external_id,
            wallet_number: row.wallet_number,
            reject_replays: row.reject_replays,
            created_ms: row.created_ms
        ).info
        let rows = try await store.sql.select().column("*").from("store_keys")
            .where("store_id", .equal, row.id).where("revoked_ms", .is, SQLLiteral.null)
            .orderBy("key_index").all(decoding: StoreKeyRow.self)
        var keys = [ResolvedStoreKey]()
        for keyRow in rows {
            guard let verification = try? PublicKeyImport.parse(pem: keyRow.public_key_pem, minimumRSABits: 1024).first?.key else { continue }
            let pem = try keyring.openString(keyRow.sealed_platform_key, context: StoreKeyRow.sealContext(id: keyRow.id))
            keys.append(ResolvedStoreKey(info: keyRow.info, verificationKey: verification, platformKey: try RSASigningKey(pem: pem)))
        }
        return ResolvedStore(
            store: info,
            mid: row.mid,
            keys: keys,
            merchantAllowedIPs: row.merchant_allowed_ips.flatMap { JSONText.decode([IPNetwork].self, $0) } ?? []
        )
    }
}

/// Checks on store identifiers and uploaded store keys.
enum StoreValidation {
    /// A myPOS `SID`: 1-32 letters, digits, `-` or `_` (myPOS issues digits; integrations keep theirs).
    static func sid(_ value: String) throws(KeywardError) -> String {
        guard (1...32).contains(value.utf8.count), value.utf8.allSatisfy(isIdentifierByte) else {
            throw .invalid(.invalidSID, "A SID is 1-32 letters, digits, '-' or '_'.", field: "sid")
        }
        return value
    }

    /// A myPOS `WalletNumber`: 1-32 digits.
    static func wallet(_ value: String) throws(KeywardError) -> String {
        guard (1...32).contains(value.utf8.count), value.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else {
            throw .invalid(.invalidWalletNumber, "A WalletNumber is 1-32 digits.", field: "wallet_number")
        }
        return value
    }

    /// An AliKassa account: a UUID, kept lowercase.
    static func account(_ value: String) throws(KeywardError) -> String {
        guard let uuid = UUID(uuidString: value) else {
            throw .invalid(.invalidAccount, "An AliKassa account is a UUID such as 1b4e28ba-2fa1-11d2-883f-0016d3cca427.", field: "account")
        }
        return uuid.uuidString.lowercased()
    }

    static func digits(_ count: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return String((0..<count).map { _ in Character(Unicode.Scalar(UInt8.random(in: 0x30...0x39, using: &generator))) })
    }

    static func isIdentifierByte(_ c: UInt8) -> Bool {
        c == UInt8(ascii: "-") || c == UInt8(ascii: "_") || (0x30...0x39).contains(c) || (0x41...0x5a).contains(c) || (0x61...0x7a).contains(c)
    }

    /// The RSA public keys of an upload. Provider dialects sign with RSA PKCS#1 v1.5 only; live mode
    /// needs 2048 bits, test mode takes 1024 (the public myPOS sandbox key); expired certificates are refused.
    static func publicKeys(_ pem: String, mode: Mode, now: Date) throws(KeywardError) -> [ImportedPublicKey] {
        guard pem.utf8.count <= 256 * 1024 else {
            throw .invalid(.invalidPublicKey, "An upload is at most 256 KiB.", field: "public_key")
        }
        let keys: [ImportedPublicKey]
        do {
            keys = try PublicKeyImport.parse(pem: pem, minimumRSABits: mode == .live ? 2048 : 1024)
        } catch {
            throw KeywardError.invalid(error.code, error.message, field: "public_key")
        }
        guard keys.count <= StoreService.maximumKeys else {
            throw .invalid(.invalidPublicKey, "At most \(StoreService.maximumKeys) keys per upload.", field: "public_key")
        }
        for key in keys {
            guard case .rsa = key.key else {
                throw .invalid(
                    .unsupportedAlgorithm,
                    "myPOS and AliKassa sign with RSA; this is an \(key.key.algorithmDescription) key. Register it as a signing key for RFC 9421 instead.",
                    field: "public_key"
                )
            }
            if let notAfter = key.notValidAfter, notAfter <= now {
                throw .invalid(.certificateExpired, "The certificate expired on \(notAfter.formatted(.iso8601)).", field: "public_key")
            }
        }
        return keys
    }
}
