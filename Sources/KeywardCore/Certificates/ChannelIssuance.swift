import Foundation
import KeywardCrypto
import SQLKit

/// A channel's event history (what `channel status` and the cabinet show).
enum ChannelEvents {
    struct Row: Codable {
        let id: String
        let channel_id: String
        let merchant_id: String
        let at_ms: Int64
        let kind: String
        let message: String
    }

    static func record(_ sql: any SQLDatabase, channel: String, merchant: String, at: Date, kind: String, message: String) async throws {
        let row = Row(
            id: Identifier.make("evt"),
            channel_id: channel,
            merchant_id: merchant,
            at_ms: at.millis,
            kind: kind,
            message: String(message.prefix(1000))
        )
        try await sql.insert(into: "channel_events").model(row).run()
    }

    static func list(_ sql: any SQLDatabase, channel: String, limit: Int) async throws -> [ChannelEvent] {
        try await sql.select().column("*").from("channel_events").where("channel_id", .equal, channel)
            .orderBy("at_ms", .descending).orderBy("id", .descending).limit(limit).all(decoding: Row.self)
            .map { ChannelEvent(at: Date(millis: $0.at_ms), kind: $0.kind, message: $0.message) }
    }
}

/// The bookkeeping of managed channels, for the ACME worker: which orders are due (claimed so that
/// several instances never run the same one), and what came of each.
public struct ChannelIssuance: Sendable {
    let store: KeywardStore
    let changes: CredentialChanges
    let certificates: CertificateService
    let webhooks: WebhookService?
    let audit: AuditLog?
    let clock: KeywardClock

    /// How long a claimed order may run before another instance may take it over.
    public static let lease: TimeInterval = 15 * 60

    /// With `webhooks`, each issuance, renewal and failure is also announced to the merchant's webhook
    /// (`channel.certificate_issued`, `channel.certificate_renewed`, `channel.order_failed`).
    /// With `audit`, the same events go to the audit log, by the `system` actor.
    public init(
        store: KeywardStore,
        changes: CredentialChanges,
        certificates: CertificateService,
        webhooks: WebhookService? = nil,
        audit: AuditLog? = nil,
        clock: KeywardClock = .system
    ) {
        self.store = store
        self.changes = changes
        self.certificates = certificates
        self.webhooks = webhooks
        self.audit = audit
        self.clock = clock
    }

    func announce(_ sql: any SQLDatabase, channel: SalesChannelInfo, type: String, detail: [String: String]) async throws {
        guard let webhooks else { return }
        struct Event: Encodable {
            let id: String, type: String, created: Int, data: Data
            struct Data: Encodable { let channel: Channel }
            struct Channel: Encodable { let id: String, name: String, mode: String, domains: [String], detail: [String: String] }
        }
        let now = clock.now()
        let event = Event(
            id: Identifier.make("evt"),
            type: type,
            created: Int(now.timeIntervalSince1970),
            data: .init(channel: .init(id: channel.id, name: channel.name, mode: channel.mode.rawValue, domains: channel.domains, detail: detail))
        )
        // Everything on `sql`: inside a transaction, a second connection could wait on the first forever.
        try await webhooks.enqueue(
            sql,
            merchantIDs: try await webhooks.merchantsWithEndpoints(on: sql),
            merchantID: channel.merchantID,
            eventType: type,
            payload: JSONText.encode(event)
        )
    }

    /// Claims up to `limit` managed channels whose next attempt is due: each is pushed a lease into the
    /// future with a compare-and-set, so a channel claimed by another instance is skipped.
    public func claimDue(limit: Int = 20) async throws -> [SalesChannelInfo] {
        let now = clock.now()
        let due = try await store.sql.select().column("*").from("sales_channels").where("ssl_mode", .equal, SSLMode.managed.rawValue)
            .where("next_attempt_ms", .lessThanOrEqual, now.millis).orderBy("next_attempt_ms").limit(limit).all(decoding: SalesChannelRow.self)
        var claimed: [SalesChannelInfo] = []
        for row in due {
            guard let previous = row.next_attempt_ms else { continue }
            // Orders only for verified domains: a channel with one unverified domain leaves the queue
            // until verification puts it back (DomainClaims.refreshChannel).
            let waiting = try await DomainClaims.unverified(
                store.sql,
                merchantID: row.merchant_id,
                domains: JSONText.decode([String].self, row.domains) ?? []
            )
            guard waiting.isEmpty else {
                try await store.sql.update("sales_channels").set("next_attempt_ms", to: Int64?.none).set("status", to: "pending")
                    .set("status_detail", to: DomainClaims.waitingDetail(waiting)).set("updated_ms", to: now.millis)
                    .where("id", .equal, row.id).where("next_attempt_ms", .equal, previous).run()
                continue
            }
            let leaseEnd = now.addingTimeInterval(Self.lease).millis
            let renewing = row.certificate_id != nil
            try await store.sql.update("sales_channels").set("next_attempt_ms", to: leaseEnd).set("status", to: "issuing")
                .set("status_detail", to: renewing ? "Renewing the certificate by ACME." : "Ordering the certificate by ACME.")
                .set("updated_ms", to: now.millis).where("id", .equal, row.id).where("next_attempt_ms", .equal, previous).run()
            let mine = try await store.sql.select().column("*").from("sales_channels").where("id", .equal, row.id).first(
                decoding: SalesChannelRow.self
            )
            guard let mine, mine.next_attempt_ms == leaseEnd, mine.status == "issuing" else { continue }
            try await ChannelEvents.record(
                store.sql,
                channel: row.id,
                merchant: row.merchant_id,
                at: now,
                kind: "order_started",
                message: renewing ? "Renewal order started." : "Certificate order started."
            )
            claimed.append(mine.info)
        }
        return claimed
    }

    /// Stores the issued chain and key, points the channel at it (served at once: the change counter
    /// moves), schedules the renewal at `renewAt`, and deletes the certificate it replaced when nothing
    /// else uses it.
    public func recordIssued(channel: SalesChannelInfo, chainPEM: String, privateKeyPEM: String, renewAt: Date) async throws -> CertificateInfo {
        let issued = try await certificates.storeIssued(
            merchantID: channel.merchantID,
            mode: channel.mode,
            name: channel.domains.first ?? channel.name,
            chainPEM: chainPEM,
            privateKeyPEM: privateKeyPEM
        )
        let now = clock.now()
        let previous = channel.certificateID
        let renewed = previous != nil
        try await changes.commit(in: store) { sql in
            try await sql.update("sales_channels").set("certificate_id", to: issued.id).set("status", to: "active")
                .set(
                    "status_detail",
                    to:
                        "Certificate valid until \(ISO8601DateFormatter().string(from: issued.notAfter)); renewal planned \(ISO8601DateFormatter().string(from: renewAt))."
                )
                .set("failures", to: 0).set("next_attempt_ms", to: renewAt.millis).set("renew_at_ms", to: renewAt.millis)
                .set("updated_ms", to: now.millis).where("id", .equal, channel.id).run()
            try await ChannelEvents.record(
                sql,
                channel: channel.id,
                merchant: channel.merchantID,
                at: now,
                kind: renewed ? "renewed" : "issued",
                message:
                    "\(renewed ? "Renewed" : "Issued") by \(issued.issuer): serial \(issued.serial), valid until \(ISO8601DateFormatter().string(from: issued.notAfter))."
            )
            try await announce(
                sql,
                channel: channel,
                type: renewed ? "channel.certificate_renewed" : "channel.certificate_issued",
                detail: [
                    "certificate_id": issued.id, "serial": issued.serial, "not_after": ISO8601DateFormatter().string(from: issued.notAfter),
                    "renew_at": ISO8601DateFormatter().string(from: renewAt),
                ]
            )
            if let previous {
                struct Use: Decodable { let id: String }
                let stillUsed = try await sql.select().column("id").from("sales_channels").where("certificate_id", .equal, previous).first(
                    decoding: Use.self
                )
                if stillUsed == nil {
                    try await sql.delete(from: "certificates").where("id", .equal, previous).where("source", .equal, "acme").run()
                }
            }
        }
        try await audit?.record(
            merchantID: channel.merchantID,
            actor: .system,
            action: renewed ? .channelCertificateRenewed : .channelCertificateIssued,
            targetID: issued.id
        )
        return issued
    }

    /// Records a failed order: status `failed` with the reason, the next attempt after the backoff
    /// (1 h doubling, capped at 32 h), and a `order_failed` event (counted by /metrics).
    public func recordFailure(channel: SalesChannelInfo, reason: String, retryAfter backoff: (Int) -> TimeInterval) async throws {
        let now = clock.now()
        let failures = channel.failures + 1
        let next = now.addingTimeInterval(backoff(failures))
        try await store.sql.update("sales_channels").set("status", to: "failed")
            .set("status_detail", to: String("\(reason) Next attempt \(ISO8601DateFormatter().string(from: next)).".prefix(1000)))
            .set("failures", to: failures).set("next_attempt_ms", to: next.millis).set("updated_ms", to: now.millis)
            .where("id", .equal, channel.id).run()
        try await ChannelEvents.record(
            store.sql,
            channel: channel.id,
            merchant: channel.merchantID,
            at: now,
            kind: "order_failed",
            message: "Order failed (attempt \(failures)): \(reason)"
        )
        try await audit?.record(
            merchantID: channel.merchantID,
            actor: .system,
            action: .channelOrderFailed,
            targetID: channel.id,
            outcome: String(reason.prefix(200))
        )
        try await announce(
            store.sql,
            channel: channel,
            type: "channel.order_failed",
            detail: ["reason": reason, "attempt": String(failures), "next_attempt": ISO8601DateFormatter().string(from: next)]
        )
    }

    /// Moves the next attempt (e.g. when the CA's ARI window says renewal can wait).
    public func reschedule(channelID: String, to date: Date, detail: String) async throws {
        try await store.sql.update("sales_channels").set("status", to: "active").set("status_detail", to: detail)
            .set("next_attempt_ms", to: date.millis).set("renew_at_ms", to: date.millis).set("updated_ms", to: clock.now().millis)
            .where("id", .equal, channelID).run()
    }

    /// Renewal errors per channel, for `/metrics`.
    public func renewalErrorCounts() async throws -> [(merchantID: String, channelID: String, count: Int)] {
        struct Row: Decodable {
            let merchant_id: String
            let channel_id: String
            let n: Int64
        }
        let rows = try await store.sql.raw(
            "SELECT merchant_id, channel_id, COUNT(*) AS n FROM channel_events WHERE kind = 'order_failed' GROUP BY merchant_id, channel_id"
        )
        .all(decoding: Row.self)
        return rows.map { ($0.merchant_id, $0.channel_id, Int($0.n)) }
    }
}
