import Foundation
import KeywardCore
import KeywardCrypto

// Each credential kind: how it fills the common fields (`APICredential`) and its own fields. The answers'
// type names stay the ones the controllers use (`SecretKeyResource(info, now:)`).

extension SecretKeyInfo: APICredential {
    static var object: String { "secret_key" }
    var endsAt: Date? { expiresAt }
    var displayName: String? { name }
    var apiLimits: CredentialLimits? { CredentialLimits(permissions: permissions, allowedIPs: allowedIPs, expiresAt: expiresAt) }
}

/// A secret key's own fields; `secret` only in the creation/roll answer. `permissions` and `allowed_ips` are
/// also in `limits`: they were here first, and clients read them here. An unrestricted key's permissions
/// are `["*"]` (`PermissionList`), as everywhere.
struct SecretKeyFields: Encodable, Sendable {
    let redacted: String
    let last4: String
    let permissions: [String]
    let allowed_ips: [String]
    let last_used_at: String?
    let rolled_from: String?
    let secret: String?
}

typealias SecretKeyResource = CredentialResource<SecretKeyFields>

extension CredentialResource where Fields == SecretKeyFields {
    init(_ info: SecretKeyInfo, now: Date, secret: String? = nil) {
        let fields = SecretKeyFields(
            redacted: info.prefix + "…" + info.last4,
            last4: info.last4,
            permissions: info.permissions ?? PermissionList.unrestricted,
            allowed_ips: info.allowedIPs.map(\.description),
            last_used_at: Timestamp.format(info.lastUsedAt),
            rolled_from: info.rolledFrom,
            secret: secret
        )
        self.init(info, now: now, fields: fields)
    }
}

extension PaymentKeyInfo: APICredential {
    static var object: String { "payment_key" }
    var endsAt: Date? { expiresAt }
}

/// A payment key's own fields; `secret` only in the creation/roll answer.
struct PaymentKeyFields: Encodable, Sendable {
    let label: String
    let last4: String
    let secret: String?
}

typealias PaymentKeyResource = CredentialResource<PaymentKeyFields>

extension CredentialResource where Fields == PaymentKeyFields {
    init(_ info: PaymentKeyInfo, now: Date, secret: String? = nil) {
        self.init(info, now: now, fields: PaymentKeyFields(label: info.label, last4: info.last4, secret: secret))
    }
}

extension SigningKeyInfo: APICredential {
    static var object: String { "signing_key" }
    var endsAt: Date? { effectiveExpiry }
    var displayName: String? { name }
    var apiLimits: CredentialLimits? { limits }
}

/// A signing key's own fields; the private key only in the answer to a generation.
struct SigningKeyFields: Encodable, Sendable {
    let algorithm: String
    let public_key: String
    let not_after: String?
    let private_key_kept: Bool
    let private_key: String?
    let private_key_pkcs1: String?
    let private_jwk: [String: String]?
}

typealias SigningKeyResource = CredentialResource<SigningKeyFields>

extension CredentialResource where Fields == SigningKeyFields {
    init(_ info: SigningKeyInfo, now: Date, privateKey: PrivateKeyOutput? = nil) {
        let fields = SigningKeyFields(
            algorithm: info.algorithm,
            public_key: info.publicKeyPEM,
            not_after: Timestamp.format(info.notAfter),
            private_key_kept: info.privateKeyKept,
            private_key: privateKey?.private_key,
            private_key_pkcs1: privateKey?.private_key_pkcs1,
            private_jwk: privateKey?.private_jwk
        )
        self.init(info, now: now, fields: fields)
    }
}

/// A store's key index in the mode of its store (the key itself does not carry the mode).
struct StoreKeyInMode: APICredential {
    static var object: String { "store_key" }
    let info: StoreKeyInfo
    let mode: Mode

    var id: String { info.id }
    var createdAt: Date { info.createdAt }
    var revokedAt: Date? { info.revokedAt }
    var endsAt: Date? { info.effectiveExpiry }
    var displayName: String? { info.name }
    var apiLimits: CredentialLimits? { info.limits }
    func status(at now: Date) -> CredentialStatus { info.status(at: now) }
}

/// A store key's own fields; the private key only in the answer to a generation.
struct StoreKeyFields: Encodable, Sendable {
    let key_index: Int
    let algorithm: String
    let hash: String
    let public_key: String
    let not_after: String?
    let platform_certificate: String
    let private_key_kept: Bool
    let private_key: String?
    let private_key_pkcs1: String?
    let private_jwk: [String: String]?
}

typealias StoreKeyResource = CredentialResource<StoreKeyFields>

extension CredentialResource where Fields == StoreKeyFields {
    init(_ info: StoreKeyInfo, mode: Mode, now: Date, privateKey: PrivateKeyOutput? = nil) {
        let fields = StoreKeyFields(
            key_index: info.keyIndex,
            algorithm: info.algorithm,
            hash: info.digest.rawValue,
            public_key: info.publicKeyPEM,
            not_after: Timestamp.format(info.notAfter),
            platform_certificate: info.platformCertificatePEM,
            private_key_kept: info.privateKeyKept,
            private_key: privateKey?.private_key,
            private_key_pkcs1: privateKey?.private_key_pkcs1,
            private_jwk: privateKey?.private_jwk
        )
        self.init(StoreKeyInMode(info: info, mode: mode), now: now, fields: fields)
    }
}

extension JWEKeyInfo: APICredential {
    static var object: String { "jwk" }
    var endsAt: Date? { limits.expiresAt }
    var displayName: String? { name }
    var apiLimits: CredentialLimits? { limits }
}

/// A JWK's own fields; `private_jwk` (JSON text) only in the answer to a generation.
struct JWEKeyFields: Encodable, Sendable {
    let kid: String?
    let thumbprint: String
    let algorithm: String
    let public_jwk: String
    let private_jwk: String?
}

typealias JWEKeyResource = CredentialResource<JWEKeyFields>

extension CredentialResource where Fields == JWEKeyFields {
    init(_ info: JWEKeyInfo, now: Date, privateJWK: String? = nil) {
        let fields = JWEKeyFields(
            kid: info.kid,
            thumbprint: info.thumbprint,
            algorithm: info.algorithm,
            public_jwk: info.publicJWK,
            private_jwk: privateJWK
        )
        self.init(info, now: now, fields: fields)
    }
}

extension DeviceSessionInfo: APICredential {
    static var object: String { "device_session" }
    var endsAt: Date? { expiresAt }
}

/// A device session's own field: the JWK its secrets were encrypted to.
struct DeviceSessionFields: Encodable, Sendable {
    let jwk_id: String
}

typealias DeviceSessionResource = CredentialResource<DeviceSessionFields>

extension CredentialResource where Fields == DeviceSessionFields {
    init(_ info: DeviceSessionInfo, now: Date) {
        self.init(info, now: now, fields: DeviceSessionFields(jwk_id: info.jweKeyID))
    }
}
