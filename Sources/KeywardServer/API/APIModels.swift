import Foundation
import KeywardCore
import KeywardCrypto

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
