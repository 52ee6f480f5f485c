import Foundation
import SQLKit

/// A merchant of the payment platform: the owner of every credential.
public struct Merchant: Sendable, Codable, Equatable {
    /// Keyward's id (`mch_…`).
    public let id: String
    /// Display name.
    public let name: String
    /// Public merchant id used on the wire (Kashier `MID`).
    public let mid: String
    /// Creation time.
    public let createdAt: Date
    /// Last change.
    public let updatedAt: Date
}

struct MerchantRow: Codable {
    let id: String
    let name: String
    let mid: String
    let created_ms: Int64
    let updated_ms: Int64

    var merchant: Merchant {
        Merchant(id: id, name: name, mid: mid, createdAt: Date(millis: created_ms), updatedAt: Date(millis: updated_ms))
    }
}

/// Creates and finds merchants.
public struct MerchantService: Sendable {
    let store: KeywardStore
    let clock: KeywardClock

    /// A service over `store`.
    public init(store: KeywardStore, clock: KeywardClock = .system) {
        self.store = store
        self.clock = clock
    }

    /// Creates a merchant. `mid` defaults to a fresh `MID-nnnnnn`.
    public func create(name: String, mid: String? = nil) async throws -> Merchant {
        let name = try Validation.name(name, field: "name")
        let mid = try mid.map { try Validation.mid($0) } ?? Self.generateMID()
        if try await find(mid: mid) != nil {
            throw KeywardError(.conflict, .midTaken, "Another merchant already uses MID '\(mid)'.", field: "mid")
        }
        let now = clock.now().millis
        let row = MerchantRow(id: Identifier.make("mch"), name: name, mid: mid, created_ms: now, updated_ms: now)
        try await store.sql.insert(into: "merchants").model(row).run()
        return row.merchant
    }

    /// Every merchant, oldest first.
    public func list() async throws -> [Merchant] {
        try await store.sql.select().column("*").from("merchants").orderBy("created_ms").orderBy("id")
            .all(decoding: MerchantRow.self).map(\.merchant)
    }

    /// The merchant with `id`, or a `resource_missing` error.
    public func get(id: String) async throws -> Merchant {
        guard Identifier.isWellFormed(id, prefix: "mch"),
            let row = try await store.sql.select().column("*").from("merchants").where("id", .equal, id)
                .first(decoding: MerchantRow.self)
        else { throw KeywardError.notFound("merchant", id: id, scoped: false) }
        return row.merchant
    }

    /// The merchant whose public MID is `mid`, if any.
    public func find(mid: String) async throws -> Merchant? {
        try await store.sql.select().column("*").from("merchants").where("mid", .equal, mid)
            .first(decoding: MerchantRow.self)?.merchant
    }

    static func generateMID() -> String {
        "MID-" + String(Int.random(in: 100_000...999_999)) + "-" + String(Int.random(in: 100...999))
    }
}

/// Shared checks on user-supplied values; each failure names the field and the rule.
enum Validation {
    static func name(_ value: String, field: String, maximum: Int = 200) throws(KeywardError) -> String {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { throw .invalid(.invalidField, "'\(field)' must not be empty.", field: field) }
        guard trimmed.count <= maximum else {
            throw .invalid(.invalidField, "'\(field)' must be at most \(maximum) characters.", field: field)
        }
        guard !trimmed.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw .invalid(.invalidField, "'\(field)' must not contain control characters.", field: field)
        }
        return trimmed
    }

    /// MIDs go into Kashier's `.`-separated hash input, so `.` is refused to keep that input unambiguous.
    static func mid(_ value: String) throws(KeywardError) -> String {
        let ok =
            (1...64).contains(value.utf8.count)
            && value.utf8.allSatisfy { c in
                c == UInt8(ascii: "-") || c == UInt8(ascii: "_") || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
                    || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z")) || (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z"))
            }
        guard ok else {
            throw .invalid(.invalidMID, "A MID is 1-64 characters of letters, digits, '-' and '_'.", field: "mid")
        }
        return value
    }

    /// Permission scopes: lowercase words joined by `.`, `:` or `_` (e.g. `payments.read`).
    static func permissions(_ values: [String]?) throws(KeywardError) -> [String]? {
        guard let values else { return nil }
        guard values.count <= 64 else {
            throw .invalid(.invalidPermissions, "At most 64 permissions per key.", field: "permissions")
        }
        for value in values {
            let ok =
                (1...64).contains(value.utf8.count)
                && value.utf8.allSatisfy { c in
                    c == UInt8(ascii: ".") || c == UInt8(ascii: ":") || c == UInt8(ascii: "_") || c == UInt8(ascii: "-")
                        || (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
                }
            guard ok else {
                throw .invalid(
                    .invalidPermissions,
                    "Permission '\(value.prefix(64))' must be lowercase letters, digits and . : _ - (e.g. payments.read).",
                    field: "permissions"
                )
            }
        }
        return Array(Set(values)).sorted()
    }

    static func allowList(_ values: [String]?) throws(KeywardError) -> [IPNetwork] {
        guard let values else { return [] }
        guard values.count <= 100 else {
            throw .invalid(.invalidCIDR, "At most 100 entries in an IP allowlist.", field: "allowed_ips")
        }
        var networks = [IPNetwork]()
        for value in values {
            do { networks.append(try IPNetwork(parsing: value)) } catch {
                throw KeywardError(error.kind, error.code, error.message, field: "allowed_ips")
            }
        }
        return networks
    }

    static func expiry(_ date: Date?, now: Date) throws(KeywardError) -> Date? {
        guard let date else { return nil }
        guard date > now else { throw .invalid(.invalidDate, "'expires_at' must be in the future.", field: "expires_at") }
        guard date < now.addingTimeInterval(10 * 365 * 86400) else {
            throw .invalid(.invalidDate, "'expires_at' must be within ten years.", field: "expires_at")
        }
        return date
    }

    static let maximumOverlap: TimeInterval = 7 * 86400

    static func overlap(_ seconds: Int?) throws(KeywardError) -> TimeInterval {
        guard let seconds else { return 0 }
        guard (0...Int(maximumOverlap)).contains(seconds) else {
            throw .invalid(.invalidOverlap, "'overlap_seconds' must be between 0 and 604800 (7 days).", field: "overlap_seconds")
        }
        return TimeInterval(seconds)
    }
}
