import Foundation
import KeywardCore
import KeywardCrypto

/// A secret key as the API shows it; `secret` only in the creation/roll answer.
struct SecretKeyResource: Encodable {
    let object = "secret_key"
    let id: String
    let name: String
    let mode: String
    let redacted: String
    let last4: String
    let status: String
    let permissions: [String]?
    let allowed_ips: [String]
    let expires_at: String?
    let revoked_at: String?
    let last_used_at: String?
    let created_at: String?
    let rolled_from: String?
    let replaced_by: String?
    let secret: String?

    init(_ info: SecretKeyInfo, now: Date, secret: String? = nil) {
        id = info.id
        name = info.name
        mode = info.mode.rawValue
        redacted = info.prefix + "…" + info.last4
        last4 = info.last4
        status = info.status(at: now).rawValue
        permissions = info.permissions
        allowed_ips = info.allowedIPs.map(\.description)
        expires_at = Timestamp.format(info.expiresAt)
        revoked_at = Timestamp.format(info.revokedAt)
        last_used_at = Timestamp.format(info.lastUsedAt)
        created_at = Timestamp.format(info.createdAt)
        rolled_from = info.rolledFrom
        replaced_by = info.replacedBy
        self.secret = secret
    }
}

/// A payment key as the API shows it.
struct PaymentKeyResource: Encodable {
    let object = "payment_key"
    let id: String
    let label: String
    let mode: String
    let last4: String
    let status: String
    let expires_at: String?
    let revoked_at: String?
    let created_at: String?
    let replaced_by: String?
    let secret: String?

    init(_ info: PaymentKeyInfo, now: Date, secret: String? = nil) {
        id = info.id
        label = info.label
        mode = info.mode.rawValue
        last4 = info.last4
        status = info.status(at: now).rawValue
        expires_at = Timestamp.format(info.expiresAt)
        revoked_at = Timestamp.format(info.revokedAt)
        created_at = Timestamp.format(info.createdAt)
        replaced_by = info.replacedBy
        self.secret = secret
    }
}

struct ListResource<Item: Encodable>: Encodable {
    let object = "list"
    let data: [Item]
    let has_more: Bool
}

struct CreateSecretKeyBody: StrictJSONBody {
    static let fields: Set<String> = ["name", "expires_at", "permissions", "allowed_ips"]
    let name: String?
    let expires_at: String?
    let permissions: [String]?
    let allowed_ips: [String]?
}

struct RollBody: StrictJSONBody {
    static let fields: Set<String> = ["overlap_seconds"]
    let overlap_seconds: Int?
}

struct CreatePaymentKeyBody: StrictJSONBody {
    static let fields: Set<String> = ["label", "value"]
    let label: String?
    let value: String?
}

struct OrderHashBody: StrictJSONBody {
    static let fields: Set<String> = ["payment_key_id", "order_id", "amount", "currency", "hash"]
    let payment_key_id: String?
    let order_id: String
    let amount: String
    let currency: String
    let hash: String?
}

struct OrderHashResource: Encodable {
    let object = "order_hash"
    let hash: String
    let path: String
    let payment_key_id: String
}

struct OrderHashVerification: Encodable {
    let object = "order_hash_verification"
    let valid: Bool
}

struct EmptyBody: StrictJSONBody {
    static let fields: Set<String> = []
}
