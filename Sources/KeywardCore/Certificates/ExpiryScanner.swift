import Foundation
import SQLKit

/// Finds certificates whose expiry state moved (valid → expiring → critical → expired) since the last
/// scan, queues a webhook for each move to a worse state, and remembers the state announced, so each
/// merchant hears of each step once. The state is computed in SQL: only changed rows come back.
public struct ExpiryScanner: Sendable {
    let store: KeywardStore
    let webhooks: WebhookService
    let clock: KeywardClock

    public init(store: KeywardStore, webhooks: WebhookService, clock: KeywardClock = .system) {
        self.store = store
        self.webhooks = webhooks
        self.clock = clock
    }

    /// What a scan did.
    public struct Report: Sendable, Equatable {
        /// Certificates whose state changed.
        public var changed = 0
        /// Webhook notifications queued.
        public var notified = 0

        public init() {}
    }

    /// What the scan reads of every changed certificate: four short columns (100,000 rows decode in
    /// a fraction of a second; the details are read only for those that need a webhook).
    struct Change: Decodable {
        let id: String
        let merchant_id: String
        let alerted_status: String?
        let current_status: String
    }

    struct Row: Decodable {
        let id: String
        let merchant_id: String
        let mode: String
        let type: String
        let name: String
        let serial: String
        let names: String
        let not_after_ms: Int64
    }

    static let severity: [String: Int] = ["valid": 0, "expiring": 1, "critical": 2, "expired": 3]

    static func isWorse(_ change: Change) -> Bool {
        (severity[change.current_status] ?? 0) > (severity[change.alerted_status ?? "valid"] ?? 0)
    }

    public func scan() async throws -> Report {
        let now = clock.now()
        let expired = now.millis
        let critical = now.addingTimeInterval(Double(CertificateStatus.criticalDays) * 86400).millis
        let expiring = now.addingTimeInterval(Double(CertificateStatus.expiringDays) * 86400).millis
        let changes = try await store.sql.raw(
            """
            SELECT * FROM (SELECT id, merchant_id, alerted_status,
              CASE WHEN not_after_ms <= \(bind: expired) THEN 'expired' WHEN not_after_ms <= \(bind: critical) THEN 'critical'
                   WHEN not_after_ms <= \(bind: expiring) THEN 'expiring' ELSE 'valid' END AS current_status
            FROM certificates) AS scanned WHERE alerted_status IS NULL OR alerted_status <> current_status
            """
        ).all(decoding: Change.self)
        var report = Report()
        guard !changes.isEmpty else { return report }
        let withEndpoints = try await webhooks.merchantsWithEndpoints()
        let notify = changes.filter { withEndpoints.contains($0.merchant_id) && Self.isWorse($0) }
        let details = try await self.details(notify.map(\.id))
        let channels = try await channelNames(for: notify.map(\.id))
        let notifyIDs = Set(notify.map(\.id))
        for (status, group) in Dictionary(grouping: changes, by: \.current_status) {
            // Rows that need no webhook are marked in large batches; the others with their webhook, atomically.
            let quiet = group.filter { !notifyIDs.contains($0.id) }.map(\.id)
            for chunk in quiet.chunked(5000) {
                try await store.sql.update("certificates").set("alerted_status", to: status).where("id", .in, chunk).run()
            }
            let loud = group.filter { notifyIDs.contains($0.id) }
            for chunk in loud.chunked(500) {
                try await store.transaction { sql in
                    for change in chunk {
                        // Compare-and-set: another instance scanning at the same time may have announced this
                        // state already; only the one whose UPDATE changes the row queues the webhook.
                        let claimed = try await sql.raw(
                            """
                            UPDATE certificates SET alerted_status = \(bind: status)
                            WHERE id = \(bind: change.id) AND (alerted_status IS NULL OR alerted_status <> \(bind: status)) RETURNING id
                            """
                        ).all()
                        guard !claimed.isEmpty, let row = details[change.id] else { continue }
                        try await webhooks.enqueue(
                            sql,
                            merchantIDs: withEndpoints,
                            merchantID: row.merchant_id,
                            eventType: "certificate.\(status)",
                            payload: Self.payload(row, status: status, channels: channels[row.id] ?? [], now: now)
                        )
                    }
                }
            }
        }
        report.changed = changes.count
        report.notified = notify.count
        return report
    }

    func details(_ ids: [String]) async throws -> [String: Row] {
        var rows: [String: Row] = [:]
        for chunk in ids.chunked(500) {
            for row in try await store.sql.select().column("id").column("merchant_id").column("mode").column("type").column("name").column("serial")
                .column("names").column("not_after_ms").from("certificates").where("id", .in, chunk).all(decoding: Row.self)
            {
                rows[row.id] = row
            }
        }
        return rows
    }

    func channelNames(for certificateIDs: [String]) async throws -> [String: [String]] {
        guard !certificateIDs.isEmpty else { return [:] }
        struct Use: Decodable {
            let id: String
            let certificate_id: String
        }
        var result: [String: [String]] = [:]
        for chunk in certificateIDs.chunked(500) {
            for use in try await store.sql.select().column("id").column("certificate_id").from("sales_channels").where("certificate_id", .in, chunk)
                .all(decoding: Use.self)
            {
                result[use.certificate_id, default: []].append(use.id)
            }
        }
        return result
    }

    static func payload(_ row: Row, status: String, channels: [String], now: Date) -> String {
        struct Certificate: Encodable {
            let id: String, name: String, type: String, mode: String, serial: String, names: [String]
            let not_after: String, days_left: Int, status: String, channels: [String]
        }
        struct Event: Encodable {
            let id: String, type: String, created: Int, data: Data
            struct Data: Encodable { let certificate: Certificate }
        }
        let notAfter = Date(millis: row.not_after_ms)
        let event = Event(
            id: Identifier.make("evt"),
            type: "certificate.\(status)",
            created: Int(now.timeIntervalSince1970),
            data: .init(
                certificate: Certificate(
                    id: row.id,
                    name: row.name,
                    type: row.type,
                    mode: row.mode,
                    serial: row.serial,
                    names: JSONText.decode([String].self, row.names) ?? [],
                    not_after: ISO8601DateFormatter().string(from: notAfter),
                    days_left: Int((notAfter.timeIntervalSince(now) / 86400).rounded(.down)),
                    status: status,
                    channels: channels
                )
            )
        )
        return JSONText.encode(event)
    }
}

extension Array {
    /// Consecutive slices of at most `size` elements (batches for `IN (...)` lists and bounded transactions).
    public func chunked(_ size: Int) -> [[Element]] {
        stride(from: 0, to: count, by: size).map { Array(self[$0..<Swift.min($0 + size, count)]) }
    }
}
