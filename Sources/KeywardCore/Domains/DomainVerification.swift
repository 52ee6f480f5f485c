import Foundation
import KeywardCrypto
import SQLKit

/// Where a merchant's claim on a domain stands.
public enum DomainVerificationStatus: String, Sendable, Codable {
    /// Not checked yet.
    case pending
    /// Control proven: the domain is served (SNI, ACME orders, Apple Pay file).
    case verified
    /// The last check failed and the domain is not (or no longer) verified: nothing is served.
    case failed
}

/// A merchant's verification of one domain, with what to publish to prove control.
public struct DomainVerification: Sendable, Equatable {
    public let id: String
    public let merchantID: String
    /// Normalized (A-labels, lowercase, no trailing dot); may be a wildcard `*.x`.
    public let domain: String
    /// What the TXT record or the HTTP file must hold. Generated per merchant and domain.
    public let token: String
    public let status: DomainVerificationStatus
    /// How control was last proven.
    public let method: VerificationMethod?
    /// Consecutive failed checks.
    public let failures: Int
    /// When the current run of failures began.
    public let firstFailureAt: Date?
    /// Why the last check failed (cleared by a success).
    public let lastError: String?
    public let lastCheckedAt: Date?
    public let nextCheckAt: Date?
    public let verifiedAt: Date?

    /// `_keyward-challenge.<domain>` (at the base name for a wildcard).
    public var txtName: String { DomainVerificationRecord.txtName(for: domain) }
    /// The URL to serve the token at, from the merchant's current host; nil for a wildcard (DNS only).
    public var httpURL: String? { domain.hasPrefix("*.") ? nil : "http://\(domain)\(DomainVerificationRecord.httpPath(token: token))" }
    /// Whether it is served now.
    public var isVerified: Bool { status == .verified }
}

struct DomainVerificationRow: Codable {
    let id: String
    let merchant_id: String
    let domain: String
    let token: String
    let status: String
    let method: String?
    let failures: Int64
    let first_failure_ms: Int64?
    let last_error: String?
    let last_checked_ms: Int64?
    let next_check_ms: Int64?
    let verified_ms: Int64?
    let created_ms: Int64
    let updated_ms: Int64

    var info: DomainVerification {
        DomainVerification(
            id: id,
            merchantID: merchant_id,
            domain: domain,
            token: token,
            status: DomainVerificationStatus(rawValue: status) ?? .failed,
            method: method.flatMap(VerificationMethod.init(rawValue:)),
            failures: Int(failures),
            firstFailureAt: first_failure_ms.map(Date.init(millis:)),
            lastError: last_error,
            lastCheckedAt: last_checked_ms.map(Date.init(millis:)),
            nextCheckAt: next_check_ms.map(Date.init(millis:)),
            verifiedAt: verified_ms.map(Date.init(millis:))
        )
    }

    static func pending(merchantID: String, domain: String, now: Date) -> DomainVerificationRow {
        DomainVerificationRow(
            id: Identifier.make("dvf"),
            merchant_id: merchantID,
            domain: domain,
            token: Identifier.make("kwv"),
            status: DomainVerificationStatus.pending.rawValue,
            method: nil,
            failures: 0,
            first_failure_ms: nil,
            last_error: nil,
            last_checked_ms: nil,
            next_check_ms: now.millis,
            verified_ms: nil,
            created_ms: now.millis,
            updated_ms: now.millis
        )
    }
}

/// The storage side of domain claims and their verification, shared by the channel service (claims
/// and releases), the verification service (checks) and the ACME worker (gating).
enum DomainClaims {
    static func records(_ sql: any SQLDatabase, merchantID: String, domains: [String]) async throws -> [DomainVerificationRow] {
        guard !domains.isEmpty else { return [] }
        return try await sql.select().column("*").from("domain_verifications").where("merchant_id", .equal, merchantID)
            .where("domain", .in, domains).all(decoding: DomainVerificationRow.self)
    }

    /// Gives the merchant a pending record (with a fresh token) for each domain it has none for.
    static func ensureRecords(_ sql: any SQLDatabase, merchantID: String, domains: [String], now: Date) async throws {
        let existing = Set(try await records(sql, merchantID: merchantID, domains: domains).map(\.domain))
        for domain in domains where !existing.contains(domain) {
            try await sql.insert(into: "domain_verifications").model(DomainVerificationRow.pending(merchantID: merchantID, domain: domain, now: now))
                .run()
        }
    }

    /// Forgets the merchant's verification of `domains` (its channel is gone): another merchant may
    /// then claim and verify them.
    static func release(_ sql: any SQLDatabase, merchantID: String, domains: [String]) async throws {
        guard !domains.isEmpty else { return }
        try await sql.delete(from: "domain_verifications").where("merchant_id", .equal, merchantID).where("domain", .in, domains).run()
    }

    /// Of `domains`, those verified by a merchant other than `merchantID`.
    static func verifiedElsewhere(_ sql: any SQLDatabase, merchantID: String, domains: [String]) async throws -> [String] {
        guard !domains.isEmpty else { return [] }
        struct Row: Decodable { let domain: String }
        return try await sql.select().column("domain").from("domain_verifications").where("domain", .in, domains)
            .where("status", .equal, DomainVerificationStatus.verified.rawValue).where("merchant_id", .notEqual, merchantID)
            .all(decoding: Row.self).map(\.domain)
    }

    /// Of `domains`, those the merchant has not verified (in the order given).
    static func unverified(_ sql: any SQLDatabase, merchantID: String, domains: [String]) async throws -> [String] {
        let verified = Set(
            try await records(sql, merchantID: merchantID, domains: domains).filter { $0.status == DomainVerificationStatus.verified.rawValue }.map(
                \.domain
            )
        )
        return domains.filter { !verified.contains($0) }
    }

    /// The channel of `merchantID` that claims `domain`, if any.
    static func claimingChannel(_ sql: any SQLDatabase, merchantID: String, domain: String) async throws -> SalesChannelRow? {
        try await sql.select().column(SQLColumn(SQLLiteral.all, table: SQLIdentifier("sales_channels"))).from("channel_domains")
            .join("sales_channels", on: SQLColumn("id", table: "sales_channels"), .equal, SQLColumn("channel_id", table: "channel_domains"))
            .where(SQLColumn("merchant_id", table: "channel_domains"), .equal, SQLBind(merchantID))
            .where(SQLColumn("domain", table: "channel_domains"), .equal, SQLBind(domain))
            .first(decoding: SalesChannelRow.self)
    }

    static func waitingDetail(_ unverified: [String]) -> String {
        "Waiting for domain verification of \(unverified.prefix(10).joined(separator: ", "))\(unverified.count > 10 ? " and \(unverified.count - 10) more" : "")."
    }

    /// Brings a channel's status in line with its domains' verification: an uploaded channel is active
    /// once every domain is verified; a managed one gets its order scheduled (the first at once, a
    /// renewal when it is due) and is taken off the ACME queue while any domain is unverified.
    static func refreshChannel(_ sql: any SQLDatabase, channel stale: SalesChannelRow, now: Date) async throws {
        // Lock the channel's row first (an UPDATE holds it to the end of the transaction), then read:
        // two domains of one channel verified at once by concurrent transactions would otherwise each
        // see the other still unverified (PostgreSQL's READ COMMITTED), and neither would schedule
        // the order. The second to lock reads after the first committed.
        try await sql.update("sales_channels").set("updated_ms", to: now.millis).where("id", .equal, stale.id).run()
        guard
            let channel = try await sql.select().column("*").from("sales_channels").where("id", .equal, stale.id).first(
                decoding: SalesChannelRow.self
            )
        else { return }
        let domains = JSONText.decode([String].self, channel.domains) ?? []
        let waiting = try await unverified(sql, merchantID: channel.merchant_id, domains: domains)
        var update = sql.update("sales_channels").set("updated_ms", to: now.millis)
        switch (SSLMode(rawValue: channel.ssl_mode) ?? .uploaded, waiting.isEmpty) {
        case (.uploaded, true):
            guard channel.status != "active" else { return }
            update = update.set("status", to: "active").set("status_detail", to: "Serving the uploaded certificate.")
        case (.uploaded, false), (.managed, false):
            update = update.set("status", to: "pending").set("status_detail", to: waitingDetail(waiting))
            if channel.ssl_mode == SSLMode.managed.rawValue { update = update.set("next_attempt_ms", to: Int64?.none) }
        case (.managed, true):
            guard channel.next_attempt_ms == nil else { return }
            if channel.certificate_id != nil, let renewAt = channel.renew_at_ms, renewAt > now.millis {
                update = update.set("status", to: "active").set("next_attempt_ms", to: renewAt)
                    .set(
                        "status_detail",
                        to: "Every domain is verified; renewal planned \(ISO8601DateFormatter().string(from: Date(millis: renewAt)))."
                    )
            } else {
                update = update.set("status", to: "pending").set("next_attempt_ms", to: now.millis)
                    .set(
                        "status_detail",
                        to: channel.certificate_id == nil ? "Waiting for the first certificate order." : "Waiting for the renewal order."
                    )
            }
        }
        try await update.where("id", .equal, channel.id).run()
    }
}
