import Foundation
import KeywardCrypto
import SQLKit

/// How a channel gets its TLS certificate.
public enum SSLMode: String, Sendable, Codable {
    /// Keyward obtains and renews it by ACME.
    case managed
    /// A certificate the merchant uploaded and picked.
    case uploaded
}

/// A merchant's sales channel: the domains its shop answers on and where their certificate comes from.
public struct SalesChannelInfo: Sendable, Equatable {
    public let id: String
    public let merchantID: String
    public let mode: Mode
    public let name: String
    public let domains: [String]
    public let sslMode: SSLMode
    public let certificateID: String?
    /// `pending` (first order not yet run), `issuing`, `active`, `failed` (retrying at `nextAttempt`).
    public let status: String
    public let statusDetail: String
    public let failures: Int
    public let nextAttempt: Date?
    public let renewAt: Date?
    public let createdAt: Date
    public let updatedAt: Date
}

/// One thing that happened to a channel (created, order started, issued, renewed, failed, ...).
public struct ChannelEvent: Sendable, Equatable, Codable {
    public let at: Date
    public let kind: String
    public let message: String
}

struct SalesChannelRow: Codable {
    let id: String
    let merchant_id: String
    let mode: String
    let name: String
    let domains: String
    let ssl_mode: String
    let certificate_id: String?
    let status: String
    let status_detail: String
    let failures: Int64
    let next_attempt_ms: Int64?
    let renew_at_ms: Int64?
    let created_ms: Int64
    let updated_ms: Int64

    var info: SalesChannelInfo {
        SalesChannelInfo(
            id: id,
            merchantID: merchant_id,
            mode: Mode(rawValue: mode) ?? .test,
            name: name,
            domains: JSONText.decode([String].self, domains) ?? [],
            sslMode: SSLMode(rawValue: ssl_mode) ?? .uploaded,
            certificateID: certificate_id,
            status: status,
            statusDetail: status_detail,
            failures: Int(failures),
            nextAttempt: next_attempt_ms.map(Date.init(millis:)),
            renewAt: renew_at_ms.map(Date.init(millis:)),
            createdAt: Date(millis: created_ms),
            updatedAt: Date(millis: updated_ms)
        )
    }
}

/// Sales channels: a merchant claims each domain in one channel; an uploaded channel's certificate must
/// cover every domain; a managed channel is queued for ACME. A claim serves nothing until the merchant
/// has verified the domain (`DomainVerificationService`); reserved names cannot be claimed at all, and a
/// domain another merchant verified is refused (`domain_taken`). Unverified claims of several merchants
/// may coexist, so nobody can block a domain's owner by claiming it first.
public struct SalesChannelService: Sendable {
    let store: KeywardStore
    let changes: CredentialChanges
    let certificates: CertificateService
    let reserved: ReservedDomains
    let clock: KeywardClock

    public static let maximumDomains = 100

    public init(
        store: KeywardStore,
        changes: CredentialChanges,
        certificates: CertificateService,
        reserved: ReservedDomains = .none,
        clock: KeywardClock = .system
    ) {
        self.store = store
        self.changes = changes
        self.certificates = certificates
        self.reserved = reserved
        self.clock = clock
    }

    /// Creates a channel. `uploaded` needs `certificateID` (a stored SSL certificate with its key that
    /// covers every domain); `managed` is queued for its first ACME order at once.
    public func create(
        merchantID: String,
        mode: Mode,
        name: String,
        domains: [String],
        sslMode: SSLMode,
        certificateID: String?
    ) async throws -> SalesChannelInfo {
        _ = try await MerchantService(store: store, clock: clock).get(id: merchantID)
        let name = try Validation.name(name, field: "name")
        var normalized: [String] = []
        for domain in domains {
            let value = try DomainName.normalize(domain, allowWildcard: sslMode == .uploaded)
            if !normalized.contains(value) { normalized.append(value) }
        }
        guard (1...Self.maximumDomains).contains(normalized.count) else {
            throw KeywardError.invalid(.invalidField, "'domains' holds 1 to \(Self.maximumDomains) DNS names.", field: "domains")
        }
        for domain in normalized { try reserved.check(domain) }
        try await checkNotTaken(merchantID: merchantID, domains: normalized)
        let now = clock.now()
        // Pending until every domain is verified (DomainClaims.refreshChannel moves it on).
        let status = "pending"
        let detail = DomainClaims.waitingDetail(normalized)
        switch sslMode {
        case .uploaded:
            guard let certificateID else {
                throw KeywardError.invalid(
                    .certificateRequired,
                    "An 'uploaded' channel names the stored certificate it serves ('certificate_id').",
                    field: "certificate_id"
                )
            }
            try await checkCovers(merchantID: merchantID, mode: mode, certificateID: certificateID, domains: normalized)
        case .managed:
            guard certificateID == nil else {
                throw KeywardError.invalid(
                    .invalidField,
                    "A 'managed' channel gets its certificate by ACME; leave out 'certificate_id'.",
                    field: "certificate_id"
                )
            }
        }
        let row = SalesChannelRow(
            id: Identifier.make("chn"),
            merchant_id: merchantID,
            mode: mode.rawValue,
            name: name,
            domains: JSONText.encode(normalized),
            ssl_mode: sslMode.rawValue,
            certificate_id: certificateID,
            status: status,
            status_detail: detail,
            failures: 0,
            next_attempt_ms: nil,
            renew_at_ms: nil,
            created_ms: now.millis,
            updated_ms: now.millis
        )
        let claimed = normalized
        do {
            try await changes.commit(in: store, target: row.id) { sql in
                try await sql.insert(into: "sales_channels").model(row).run()
                for domain in claimed {
                    try await sql.insert(into: "channel_domains").columns("domain", "channel_id", "merchant_id")
                        .values(SQLBind(domain), SQLBind(row.id), SQLBind(merchantID)).run()
                }
                try await DomainClaims.ensureRecords(sql, merchantID: merchantID, domains: claimed, now: now)
                try await ChannelEvents.record(
                    sql,
                    channel: row.id,
                    merchant: merchantID,
                    at: now,
                    kind: "created",
                    message:
                        "Channel created (\(sslMode.rawValue)) for \(claimed.joined(separator: ", ")); each domain serves once its control is verified."
                )
                try await DomainClaims.refreshChannel(sql, channel: row, now: now)
            }
        } catch let error as KeywardError {
            throw error
        } catch {
            // A concurrent claim by the same merchant (the primary key is domain + merchant).
            try await checkNotTaken(merchantID: merchantID, domains: claimed)
            throw error
        }
        return try await get(merchantID: merchantID, mode: mode, id: row.id)
    }

    /// Refuses (409 `domain_taken`) a domain the merchant already claims in a channel, or one another
    /// merchant has verified. Another merchant's unverified claim does not block: control decides.
    func checkNotTaken(merchantID: String, domains: [String]) async throws {
        struct Row: Decodable {
            let domain: String
            let channel_id: String
        }
        let mine = try await store.sql.select().column("domain").column("channel_id").from("channel_domains").where("merchant_id", .equal, merchantID)
            .where("domain", .in, domains).all(decoding: Row.self)
        if let first = mine.first {
            throw KeywardError(
                .conflict,
                .domainTaken,
                "\(mine.map(\.domain).joined(separator: ", ")) already belong to your channel \(first.channel_id); a domain is served by one channel only.",
                field: "domains"
            )
        }
        let elsewhere = try await DomainClaims.verifiedElsewhere(store.sql, merchantID: merchantID, domains: domains)
        guard elsewhere.isEmpty else { throw DomainVerificationService.taken(elsewhere) }
    }

    func checkCovers(merchantID: String, mode: Mode, certificateID: String, domains: [String]) async throws {
        let certificate = try await certificates.get(merchantID: merchantID, mode: mode, id: certificateID)
        guard certificate.type == .ssl, certificate.hasPrivateKey else {
            throw KeywardError.invalid(
                .certificateUnusable,
                "Certificate \(certificateID) is not an SSL certificate with its private key.",
                field: "certificate_id"
            )
        }
        let uncovered = domains.filter { domain in !certificate.names.contains { DomainName.covers($0, domain) } }
        guard uncovered.isEmpty else {
            throw KeywardError.invalid(
                .certificateDoesNotCoverDomain,
                "Certificate \(certificateID) does not cover \(uncovered.joined(separator: ", ")); its names are \(certificate.names.joined(separator: ", ")).",
                field: "domains"
            )
        }
        guard certificate.notAfter > clock.now() else {
            throw KeywardError.invalid(.certificateExpired, "Certificate \(certificateID) has expired.", field: "certificate_id")
        }
    }

    /// The merchant's channels in `mode`.
    public func list(merchantID: String, mode: Mode) async throws -> [SalesChannelInfo] {
        try await store.sql.select().column("*").from("sales_channels").where("merchant_id", .equal, merchantID).where("mode", .equal, mode.rawValue)
            .orderBy("created_ms").orderBy("id").limit(1000).all(decoding: SalesChannelRow.self).map(\.info)
    }

    /// One channel (any merchant when `merchantID` is nil: operators' CLI).
    public func get(merchantID: String?, mode: Mode?, id: String) async throws -> SalesChannelInfo {
        try await Self.row(store.sql, merchantID: merchantID, mode: mode, id: id).info
    }

    static func row(_ sql: any SQLDatabase, merchantID: String?, mode: Mode?, id: String) async throws -> SalesChannelRow {
        guard Identifier.isWellFormed(id, prefix: "chn") else { throw KeywardError.notFound("sales channel", id: id) }
        var query = sql.select().column("*").from("sales_channels").where("id", .equal, id)
        if let merchantID { query = query.where("merchant_id", .equal, merchantID) }
        if let mode { query = query.where("mode", .equal, mode.rawValue) }
        guard let row = try await query.first(decoding: SalesChannelRow.self) else { throw KeywardError.notFound("sales channel", id: id) }
        return row
    }

    /// The channel's history, newest first.
    public func events(channelID: String, limit: Int = 50) async throws -> [ChannelEvent] {
        try await ChannelEvents.list(store.sql, channel: channelID, limit: limit)
    }

    /// Deletes the channel and frees its domains (their verification too: another merchant may then
    /// prove control of them).
    public func delete(merchantID: String, mode: Mode, id: String) async throws {
        let channel = try await get(merchantID: merchantID, mode: mode, id: id)
        try await changes.commit(in: store, target: id) { sql in
            try await DomainClaims.release(sql, merchantID: channel.merchantID, domains: channel.domains)
            try await sql.delete(from: "channel_domains").where("channel_id", .equal, channel.id).run()
            try await sql.delete(from: "channel_events").where("channel_id", .equal, channel.id).run()
            try await sql.delete(from: "sales_channels").where("id", .equal, channel.id).run()
        }
    }

    /// Asks for a managed channel's order to run now (a manual renewal, or a retry before the backoff ends).
    public func requestRenewal(merchantID: String, mode: Mode, id: String) async throws -> SalesChannelInfo {
        let channel = try await get(merchantID: merchantID, mode: mode, id: id)
        guard channel.sslMode == .managed else {
            throw KeywardError.invalid(.notManaged, "Only a managed channel is renewed by Keyward; upload a new certificate for this one.")
        }
        let waiting = try await DomainClaims.unverified(store.sql, merchantID: merchantID, domains: channel.domains)
        guard waiting.isEmpty else {
            throw KeywardError(
                .conflict,
                .domainNotVerified,
                "\(DomainClaims.waitingDetail(waiting)) Certificates are ordered only for verified domains; publish the TXT record or HTTP token and check again."
            )
        }
        let now = clock.now()
        try await store.sql.update("sales_channels").set("next_attempt_ms", to: now.millis).set("updated_ms", to: now.millis)
            .where("id", .equal, id).run()
        try await ChannelEvents.record(
            store.sql,
            channel: id,
            merchant: merchantID,
            at: now,
            kind: "renewal_requested",
            message: "Renewal requested."
        )
        return try await get(merchantID: merchantID, mode: mode, id: id)
    }
}
