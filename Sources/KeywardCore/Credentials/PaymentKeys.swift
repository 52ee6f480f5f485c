import Foundation
import KeywardCrypto
import KeywardDialects
import SQLKit

/// What a listing shows of a payment API key.
public struct PaymentKeyInfo: Sendable, Codable, Equatable {
    public let id: String
    public let merchantID: String
    public let mode: Mode
    /// The channel this key is for (e.g. "web shop").
    public let label: String
    public let last4: String
    public let expiresAt: Date?
    public let revokedAt: Date?
    public let createdAt: Date
    public let replacedBy: String?
}

/// A payment key returned at creation or roll.
public struct CreatedPaymentKey: Sendable {
    public let info: PaymentKeyInfo
    /// The HMAC key the merchant configures in its integration.
    public let secret: String
}

/// A computed order hash and the exact string it covers.
public struct OrderHash: Sendable, Codable, Equatable {
    public let hash: String
    public let path: String
    public let paymentKeyID: String
}

struct PaymentKeyRow: RollableRow {
    static let table = "payment_keys"
    static let idPrefix = "pyk"
    static let noun = "payment key"

    let id: String
    let merchant_id: String
    let mode: String
    let label: String
    var sealed_secret: String
    let last4: String
    let expires_ms: Int64?
    var revoked_ms: Int64?
    let created_ms: Int64
    let replaced_by: String?

    var info: PaymentKeyInfo {
        PaymentKeyInfo(
            id: id,
            merchantID: merchant_id,
            mode: Mode(rawValue: mode) ?? .test,
            label: label,
            last4: last4,
            expiresAt: expires_ms.map(Date.init(millis:)),
            revokedAt: revoked_ms.map(Date.init(millis:)),
            createdAt: Date(millis: created_ms),
            replacedBy: replaced_by
        )
    }

    func status(at now: Date) -> CredentialStatus { info.status(at: now) }

    static func sealContext(id: String) -> String { "payment_key:\(id)" }
}

/// Kashier-style payment API keys: HMAC keys, sealed at rest under the master key.
public struct PaymentKeyService: Sendable {
    let store: KeywardStore
    let keyring: MasterKeyring
    let changes: CredentialChanges
    let clock: KeywardClock

    public init(store: KeywardStore, keyring: MasterKeyring, changes: CredentialChanges, clock: KeywardClock = .system) {
        self.store = store
        self.keyring = keyring
        self.changes = changes
        self.clock = clock
    }

    /// Creates a key labelled `label`; `importing` brings an existing provider key instead of generating one.
    /// A minter that expires hands its expiry to the key: a secret never outlives whoever made it.
    public func create(merchantID: String, mode: Mode, label: String?, importing: String? = nil, by minter: Minter) async throws -> CreatedPaymentKey
    {
        _ = try await MerchantService(store: store, clock: clock).get(id: merchantID)
        let label = try Validation.name(label ?? "Payment key", field: "label")
        if let importing, !PaymentKeyFormat.isAcceptableImport(importing) {
            throw KeywardError.invalid(.invalidPaymentKey, "An imported payment key must be 16 to 256 printable ASCII characters.", field: "value")
        }
        let (row, secret) = try makeRow(
            merchantID: merchantID,
            mode: mode,
            label: label,
            secret: importing ?? PaymentKeyFormat.generate(),
            expiresAt: minter.inheritedExpiry
        )
        try await lifecycle.create(row)
        return CreatedPaymentKey(info: row.info, secret: secret)
    }

    /// Keys of a merchant in one mode, newest first, `limit` at a time after the key `startingAfter`.
    public func list(merchantID: String, mode: Mode, limit: Int = 1000, startingAfter: String? = nil) async throws -> [PaymentKeyInfo] {
        try await lifecycle.list(PaymentKeyRow.self, merchantID: merchantID, mode: mode, limit: limit, startingAfter: startingAfter).map(\.info)
    }

    /// A new key with the same label (and lifetime, if it had an expiry); the old one keeps working for
    /// `overlapSeconds`. The new secret may not outlive `minter`.
    public func roll(merchantID: String, mode: Mode, id: String, overlapSeconds: Int?, by minter: Minter) async throws -> CreatedPaymentKey {
        let overlap = try Validation.overlap(overlapSeconds)
        let now = clock.now()
        let old = try await row(merchantID: merchantID, mode: mode, id: id)
        try CredentialLifecycle.checkRollable(old, at: now)
        let expiresAt = old.lifetime.map { now.addingTimeInterval($0) }
        try minter.admit(expiry: expiresAt)
        let (row, secret) = try makeRow(
            merchantID: merchantID,
            mode: mode,
            label: old.label,
            secret: PaymentKeyFormat.generate(),
            expiresAt: expiresAt
        )
        try await lifecycle.roll(old, overlap: overlap, into: row)
        return CreatedPaymentKey(info: row.info, secret: secret)
    }

    /// Revokes a key at once. Revoking a revoked key changes nothing.
    public func revoke(merchantID: String, mode: Mode, id: String) async throws -> PaymentKeyInfo {
        try await lifecycle.revoke(row(merchantID: merchantID, mode: mode, id: id)).info
    }

    /// The Kashier order hash for the hosted payment page, with the named key or the merchant's only
    /// active key in this mode.
    public func orderHash(
        merchantID: String,
        mode: Mode,
        paymentKeyID: String?,
        orderID: String,
        amount: String,
        currency: String
    ) async throws -> OrderHash {
        let merchant = try await MerchantService(store: store, clock: clock).get(id: merchantID)
        try OrderFields.validate(orderID: orderID, amount: amount, currency: currency)
        let (key, secret) = try await activeKey(merchantID: merchantID, mode: mode, id: paymentKeyID)
        let hash = KashierOrderHash.compute(paymentKey: secret, mid: merchant.mid, orderID: orderID, amount: amount, currency: currency)
        return OrderHash(
            hash: hash,
            path: KashierOrderHash.path(mid: merchant.mid, orderID: orderID, amount: amount, currency: currency),
            paymentKeyID: key.id
        )
    }

    /// Whether `hash` is the order hash of these fields under the named (or only active) key.
    public func verifyOrderHash(
        merchantID: String,
        mode: Mode,
        paymentKeyID: String?,
        orderID: String,
        amount: String,
        currency: String,
        hash: String
    ) async throws -> Bool {
        let merchant = try await MerchantService(store: store, clock: clock).get(id: merchantID)
        try OrderFields.validate(orderID: orderID, amount: amount, currency: currency)
        let (_, secret) = try await activeKey(merchantID: merchantID, mode: mode, id: paymentKeyID)
        return KashierOrderHash.verify(hash, paymentKey: secret, mid: merchant.mid, orderID: orderID, amount: amount, currency: currency)
    }

    private func activeKey(merchantID: String, mode: Mode, id: String?) async throws -> (PaymentKeyRow, String) {
        let now = clock.now()
        let key: PaymentKeyRow
        if let id {
            key = try await row(merchantID: merchantID, mode: mode, id: id)
            guard key.info.status(at: now).isUsable else {
                throw KeywardError(.conflict, .keyInactive, "Payment key \(id) is \(key.info.status(at: now).rawValue).")
            }
        } else {
            let active = try await store.sql.select().column("*").from("payment_keys")
                .where("merchant_id", .equal, merchantID).where("mode", .equal, mode.rawValue)
                .where("revoked_ms", .is, SQLLiteral.null).where("replaced_by", .is, SQLLiteral.null)
                .all(decoding: PaymentKeyRow.self)
            guard active.count == 1, let only = active.first else {
                throw KeywardError.invalid(
                    active.isEmpty ? .noPaymentKey : .paymentKeyAmbiguous,
                    active.isEmpty
                        ? "This merchant has no active \(mode.rawValue) payment key; create one first."
                        : "This merchant has several active \(mode.rawValue) payment keys; name one with 'payment_key_id'.",
                    field: "payment_key_id"
                )
            }
            key = only
        }
        let secret = try keyring.openString(key.sealed_secret, context: PaymentKeyRow.sealContext(id: key.id))
        return (key, secret)
    }

    private func row(merchantID: String, mode: Mode, id: String) async throws -> PaymentKeyRow {
        try await lifecycle.find(PaymentKeyRow.self, merchantID: merchantID, mode: mode, id: id)
    }

    private var lifecycle: CredentialLifecycle { CredentialLifecycle(store: store, changes: changes, clock: clock) }

    private func makeRow(merchantID: String, mode: Mode, label: String, secret: String, expiresAt: Date?) throws -> (PaymentKeyRow, String) {
        let id = Identifier.make("pyk")
        let sealed = try keyring.seal(string: secret, context: PaymentKeyRow.sealContext(id: id))
        let row = PaymentKeyRow(
            id: id,
            merchant_id: merchantID,
            mode: mode.rawValue,
            label: label,
            sealed_secret: sealed,
            last4: String(secret.suffix(4)),
            expires_ms: expiresAt?.millis,
            revoked_ms: nil,
            created_ms: clock.now().millis,
            replaced_by: nil
        )
        return (row, secret)
    }
}

/// Checks of the order fields that go into a Kashier hash. They are hashed literally, so only their
/// shape is checked: no re-formatting ever happens. The hashed string joins the fields with `.`, so an
/// order id may not contain one: otherwise ("A.1", "2") and ("A", "1.2") would share a hash.
enum OrderFields {
    static func validate(orderID: String, amount: String, currency: String) throws(KeywardError) {
        guard (1...255).contains(orderID.utf8.count), orderID.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else {
            throw .invalid(.invalidOrderID, "'order_id' must be 1-255 printable ASCII characters without spaces.", field: "order_id")
        }
        guard !orderID.utf8.contains(UInt8(ascii: ".")) else {
            throw .invalid(
                .orderIDHasSeparator,
                "'order_id' may not contain '.': the order hash joins the fields with dots, so the split would be ambiguous.",
                field: "order_id"
            )
        }
        let parts = amount.split(separator: ".", omittingEmptySubsequences: false)
        let digitsOnly: (Substring) -> Bool = { !$0.isEmpty && $0.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }
        guard amount.utf8.count <= 32, (1...2).contains(parts.count), parts.allSatisfy(digitsOnly) else {
            throw .invalid(.invalidAmount, "'amount' must be a decimal number as sent to the payment page, e.g. 20 or 1.99.", field: "amount")
        }
        guard currency.utf8.count == 3, currency.utf8.allSatisfy({ $0 >= 0x41 && $0 <= 0x5a }) else {
            throw .invalid(.invalidCurrency, "'currency' must be an ISO 4217 code in capitals, e.g. EGP.", field: "currency")
        }
    }
}
