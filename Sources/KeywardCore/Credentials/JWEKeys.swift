import Foundation
import KeywardCrypto
import SQLKit

/// A merchant public JWK that session secrets are encrypted to (Alliance Bank dialect).
public struct JWEKeyInfo: Sendable, Equatable {
    public let id: String
    public let merchantID: String
    public let mode: Mode
    public let name: String
    public let kid: String?
    /// RFC 7638 thumbprint.
    public let thumbprint: String
    /// The public JWK as registered (normalized: required members, kid, use, alg).
    public let publicJWK: String
    /// The key management algorithm answers are encrypted with (`alg` of the JWK, or ECDH-ES+A256KW).
    public let algorithm: String
    public let createdAt: Date
    public let revokedAt: Date?
    /// What sessions opened to it may do, from where, until when.
    public let limits: CredentialLimits
}

struct JWEKeyRow: MerchantCredentialRow {
    static let table = "jwe_keys"
    static let idPrefix = "jwk"
    static let noun = "JWK"

    let id: String
    let merchant_id: String
    let mode: String
    let name: String
    let kid: String?
    let thumbprint: String
    let public_jwk: String
    let algorithm: String
    let created_ms: Int64
    var revoked_ms: Int64?
    let permissions: String?
    let allowed_ips: String?
    let expires_ms: Int64?

    var info: JWEKeyInfo {
        JWEKeyInfo(
            id: id,
            merchantID: merchant_id,
            mode: Mode(rawValue: mode) ?? .test,
            name: name,
            kid: kid,
            thumbprint: thumbprint,
            publicJWK: public_jwk,
            algorithm: algorithm,
            createdAt: Date(millis: created_ms),
            revokedAt: revoked_ms.map(Date.init(millis:)),
            limits: CredentialLimits(storedPermissions: permissions, storedAllowedIPs: allowed_ips, expiresMillis: expires_ms)
        )
    }
}

/// Service codes and merchants' public JWKs.
public struct JWEKeyService: Sendable {
    let store: KeywardStore
    let changes: CredentialChanges
    let clock: KeywardClock

    public init(store: KeywardStore, changes: CredentialChanges, clock: KeywardClock = .system) {
        self.store = store
        self.changes = changes
        self.clock = clock
    }

    private var lifecycle: CredentialLifecycle { CredentialLifecycle(store: store, changes: changes, clock: clock) }

    /// The merchant's `serviceCode` in `mode` (a UUID), issued on first use.
    public func serviceCode(merchantID: String, mode: Mode) async throws -> String {
        struct Row: Decodable { let code: String }
        let existing = { () async throws -> String? in
            try await store.sql.select().column("code").from("service_codes")
                .where("merchant_id", .equal, merchantID).where("mode", .equal, mode.rawValue).first(decoding: Row.self)?.code
        }
        if let code = try await existing() { return code }
        _ = try await MerchantService(store: store, clock: clock).get(id: merchantID)
        let code = UUID().uuidString.lowercased()
        do {
            try await store.sql.insert(into: "service_codes").columns("code", "merchant_id", "mode", "created_ms")
                .values(SQLBind(code), SQLBind(merchantID), SQLBind(mode.rawValue), SQLBind(clock.now().millis)).run()
            return code
        } catch {
            // Another request issued it at the same moment: the unique index kept one.
            if let code = try await existing() { return code }
            throw error
        }
    }

    /// The merchant and mode a service code belongs to.
    public func owner(ofServiceCode code: String) async throws -> (merchantID: String, mode: Mode)? {
        guard let uuid = UUID(uuidString: code) else { return nil }
        struct Row: Decodable {
            let merchant_id: String
            let mode: String
        }
        guard
            let row = try await store.sql.select().column("merchant_id").column("mode").from("service_codes")
                .where("code", .equal, uuid.uuidString.lowercased()).first(decoding: Row.self), let mode = Mode(rawValue: row.mode)
        else { return nil }
        return (row.merchant_id, mode)
    }

    /// Registers a public P-384 JWK (`use` must be `enc` and `alg` an ECDH-ES algorithm when present).
    /// Sessions opened to it carry its limits: `requested`, never wider than `minter` holds.
    public func register(
        merchantID: String,
        mode: Mode,
        name: String?,
        jwk text: String,
        limits requested: RequestedLimits,
        by minter: Minter
    ) async throws -> JWEKeyInfo {
        _ = try await MerchantService(store: store, clock: clock).get(id: merchantID)
        let name = try Validation.name(name ?? "JWK", field: "name")
        let jwk: JWK
        do { jwk = try JWK.parse(text, allowPrivate: false) } catch { throw KeywardError.invalid(error.code, error.message, field: "jwk") }
        guard case .ecPublic(let key) = jwk.material, key.curve == .p384 else {
            throw KeywardError.invalid(.unsupportedAlgorithm, "Session keys are EC P-384 JWKs (kty EC, crv P-384).", field: "jwk")
        }
        if let use = jwk.use, use != "enc" { throw KeywardError.invalid(.invalidJWK, "'use' must be 'enc' for an encryption key.", field: "jwk") }
        let algorithm = jwk.alg ?? JWEAlgorithm.ecdhESA256KW.rawValue
        guard JWEAlgorithm(rawValue: algorithm) != nil else {
            throw KeywardError.invalid(
                .unsupportedAlgorithm,
                "'alg' must be ECDH-ES, ECDH-ES+A128KW, ECDH-ES+A192KW or ECDH-ES+A256KW.",
                field: "jwk"
            )
        }
        let limits = try minter.limits(for: requested, managing: false, now: clock.now())
        let thumbprint = jwk.thumbprint
        if try await store.sql.select().column("id").from("jwe_keys").where("merchant_id", .equal, merchantID)
            .where("mode", .equal, mode.rawValue).where("thumbprint", .equal, thumbprint).first() != nil
        {
            throw KeywardError(.conflict, .jwkExists, "This key (thumbprint \(thumbprint)) is already registered in this mode.", field: "jwk")
        }
        let row = JWEKeyRow(
            id: Identifier.make("jwk"),
            merchant_id: merchantID,
            mode: mode.rawValue,
            name: name,
            kid: jwk.kid,
            thumbprint: thumbprint,
            public_jwk: jwk.json(),
            algorithm: algorithm,
            created_ms: clock.now().millis,
            revoked_ms: nil,
            permissions: limits.storedPermissions,
            allowed_ips: limits.storedAllowedIPs,
            expires_ms: limits.expiresMillis
        )
        try await lifecycle.create(row)
        return row.info
    }

    /// The merchant's JWKs in `mode`, newest first, `limit` at a time after the JWK `startingAfter`.
    public func list(merchantID: String, mode: Mode, limit: Int = 1000, startingAfter: String? = nil) async throws -> [JWEKeyInfo] {
        try await lifecycle.list(JWEKeyRow.self, merchantID: merchantID, mode: mode, limit: limit, startingAfter: startingAfter).map(\.info)
    }

    /// The newest active JWK of the merchant in `mode`: the one new sessions are encrypted to.
    public func current(merchantID: String, mode: Mode) async throws -> JWEKeyInfo? {
        try await store.sql.select().column("*").from("jwe_keys").where("merchant_id", .equal, merchantID).where("mode", .equal, mode.rawValue)
            .where("revoked_ms", .is, SQLLiteral.null).orderBy("created_ms", .descending).orderBy("id", .descending)
            .first(decoding: JWEKeyRow.self)?.info
    }

    /// Revokes a JWK: no new session is encrypted to it; its sessions end too.
    public func revoke(merchantID: String, mode: Mode, id: String) async throws -> JWEKeyInfo {
        let row = try await lifecycle.find(JWEKeyRow.self, merchantID: merchantID, mode: mode, id: id)
        // The key's sessions end with it, in the same transaction.
        return try await lifecycle.revoke(row) { sql, now in
            try await sql.update("device_sessions").set("revoked_ms", to: now).where("jwe_key_id", .equal, id)
                .where("revoked_ms", .is, SQLLiteral.null).run()
        }.info
    }
}
