import Crypto
import Foundation
import KeywardCrypto
import SQLKit

/// A merchant's webhook endpoint as listings show it (the signing secret is shown once, at creation).
public struct WebhookEndpointInfo: Sendable, Equatable {
    public let id: String
    public let merchantID: String
    public let url: String
    public let createdAt: Date
}

/// A notification waiting to be delivered (or retried).
public struct WebhookDelivery: Sendable {
    public let id: String
    public let merchantID: String
    public let eventType: String
    public let payload: String
    public let attempts: Int
}

/// Webhooks: one endpoint per merchant (URL + HMAC secret, sealed), and an outbox of deliveries that
/// the sender works through with retries, so a notification survives a restart or an unreachable URL.
public struct WebhookService: Sendable {
    let store: KeywardStore
    let keyring: MasterKeyring
    let clock: KeywardClock
    /// Where endpoints may point; checked at registration and again before every delivery.
    public let destinations: WebhookDestinationPolicy

    /// Deliveries give up after this many attempts (about a day and a half of backoff).
    public static let maximumAttempts = 12

    public init(
        store: KeywardStore,
        keyring: MasterKeyring,
        clock: KeywardClock = .system,
        destinations: WebhookDestinationPolicy = WebhookDestinationPolicy()
    ) {
        self.store = store
        self.keyring = keyring
        self.clock = clock
        self.destinations = destinations
    }

    struct EndpointRow: Codable {
        let id: String
        let merchant_id: String
        let url: String
        let sealed_secret: String
        let created_ms: Int64
    }

    static func secretContext(_ id: String) -> String { "webhook:\(id)" }

    /// Sets (or replaces) the merchant's endpoint and returns it with its new signing secret (`whsec_...`), shown once.
    /// The URL must pass `destinations` (its host resolved now): `invalid_url`, `webhook_destination_forbidden`
    /// or `webhook_host_unresolvable` otherwise.
    public func setEndpoint(merchantID: String, url: String) async throws -> (endpoint: WebhookEndpointInfo, secret: String) {
        _ = try await MerchantService(store: store, clock: clock).get(id: merchantID)
        _ = try await destinations.check(url)
        var generator = SystemRandomNumberGenerator()
        let secret = "whsec_" + Base64URL.encode((0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
        let id = Identifier.make("whk")
        let row = EndpointRow(
            id: id,
            merchant_id: merchantID,
            url: url,
            sealed_secret: try keyring.seal(string: secret, context: Self.secretContext(id)),
            created_ms: clock.now().millis
        )
        try await store.auditedTransaction(target: id) { sql in
            try await sql.delete(from: "webhook_endpoints").where("merchant_id", .equal, merchantID).run()
            try await sql.insert(into: "webhook_endpoints").model(row).run()
        }
        return (WebhookEndpointInfo(id: id, merchantID: merchantID, url: url, createdAt: Date(millis: row.created_ms)), secret)
    }

    /// The merchant's endpoint, if any.
    public func endpoint(merchantID: String) async throws -> WebhookEndpointInfo? {
        try await store.sql.select().column("*").from("webhook_endpoints").where("merchant_id", .equal, merchantID).first(decoding: EndpointRow.self)
            .map { WebhookEndpointInfo(id: $0.id, merchantID: $0.merchant_id, url: $0.url, createdAt: Date(millis: $0.created_ms)) }
    }

    /// Removes the endpoint; pending deliveries are dropped with it.
    public func deleteEndpoint(merchantID: String) async throws {
        try await store.auditedTransaction { sql in
            try await sql.delete(from: "webhook_endpoints").where("merchant_id", .equal, merchantID).run()
            try await sql.delete(from: "webhook_deliveries").where("merchant_id", .equal, merchantID).where("status", .equal, "pending").run()
        }
    }

    /// Queues `payload` (a JSON object's text) for the merchant's endpoint; nothing when it has none.
    func enqueue(_ sql: any SQLDatabase, merchantIDs: Set<String>, merchantID: String, eventType: String, payload: String) async throws {
        guard merchantIDs.contains(merchantID) else { return }
        let now = clock.now().millis
        try await sql.insert(into: "webhook_deliveries").columns(
            "id",
            "merchant_id",
            "event_type",
            "payload",
            "status",
            "attempts",
            "next_attempt_ms",
            "created_ms"
        )
        .values(
            SQLBind(Identifier.make("whd")),
            SQLBind(merchantID),
            SQLBind(eventType),
            SQLBind(payload),
            SQLBind("pending"),
            SQLBind(Int64(0)),
            SQLBind(now),
            SQLBind(now)
        ).run()
    }

    /// Queues many events in multi-row inserts (500 a statement); those of merchants without an endpoint are dropped.
    func enqueueAll(_ sql: any SQLDatabase, merchantIDs: Set<String>, events: [(merchantID: String, eventType: String, payload: String)]) async throws
    {
        let now = clock.now().millis
        let rows = events.filter { merchantIDs.contains($0.merchantID) }
        for chunk in rows.chunked(500) {
            var insert = sql.insert(into: "webhook_deliveries").columns(
                "id",
                "merchant_id",
                "event_type",
                "payload",
                "status",
                "attempts",
                "next_attempt_ms",
                "created_ms"
            )
            for event in chunk {
                insert = insert.values(
                    SQLBind(Identifier.make("whd")),
                    SQLBind(event.merchantID),
                    SQLBind(event.eventType),
                    SQLBind(event.payload),
                    SQLBind("pending"),
                    SQLBind(Int64(0)),
                    SQLBind(now),
                    SQLBind(now)
                )
            }
            try await insert.run()
        }
    }

    /// Merchants that have an endpoint.
    func merchantsWithEndpoints(on sql: (any SQLDatabase)? = nil) async throws -> Set<String> {
        struct Row: Decodable { let merchant_id: String }
        return Set(try await (sql ?? store.sql).select().column("merchant_id").from("webhook_endpoints").all(decoding: Row.self).map(\.merchant_id))
    }

    /// How long a claimed delivery belongs to the instance that claimed it: longer than one attempt
    /// (connect 5 s + 10 s deadline). An instance that dies mid-attempt leaves it due again after this.
    public static let claimLease: TimeInterval = 120

    /// Deliveries due now, with their endpoint's URL and secret, each claimed for this caller: with
    /// several instances on one database every due delivery is returned to one of them only.
    ///
    /// The claim is a compare-and-set on `next_attempt_ms` (moved `claimLease` ahead): of two instances
    /// that read the same due row, the second one's UPDATE matches nothing (PostgreSQL re-checks the
    /// condition after the first commits; SQLite has one writer), so it skips the row. It works the
    /// same on both databases, which `FOR UPDATE SKIP LOCKED` (PostgreSQL only) would not.
    public func due(limit: Int = 100) async throws -> [(delivery: WebhookDelivery, url: String, secret: String)] {
        struct Row: Decodable {
            let id: String
            let merchant_id: String
            let event_type: String
            let payload: String
            let attempts: Int64
            let next_attempt_ms: Int64
        }
        let now = clock.now()
        let candidates = try await store.sql.select().column("id").column("merchant_id").column("event_type").column("payload").column("attempts")
            .column("next_attempt_ms")
            .from("webhook_deliveries").where("status", .equal, "pending").where("next_attempt_ms", .lessThanOrEqual, now.millis)
            .orderBy("next_attempt_ms").limit(limit).all(decoding: Row.self)
        let leaseUntil = now.addingTimeInterval(Self.claimLease).millis
        var rows: [Row] = []
        for row in candidates {
            let claimed = try await store.sql.raw(
                """
                UPDATE webhook_deliveries SET next_attempt_ms = \(bind: leaseUntil)
                WHERE id = \(bind: row.id) AND status = 'pending' AND next_attempt_ms = \(bind: row.next_attempt_ms) RETURNING id
                """
            ).all()
            if !claimed.isEmpty { rows.append(row) }
        }
        var endpoints: [String: EndpointRow] = [:]
        var result: [(WebhookDelivery, String, String)] = []
        for row in rows {
            if endpoints[row.merchant_id] == nil {
                endpoints[row.merchant_id] = try await store.sql.select().column("*").from("webhook_endpoints").where(
                    "merchant_id",
                    .equal,
                    row.merchant_id
                )
                .first(decoding: EndpointRow.self)
            }
            guard let endpoint = endpoints[row.merchant_id] else { continue }
            let secret = try keyring.openString(endpoint.sealed_secret, context: Self.secretContext(endpoint.id))
            result.append(
                (
                    WebhookDelivery(
                        id: row.id,
                        merchantID: row.merchant_id,
                        eventType: row.event_type,
                        payload: row.payload,
                        attempts: Int(row.attempts)
                    ),
                    endpoint.url, secret
                )
            )
        }
        return result
    }

    /// Records the outcome of one attempt: delivered, or retried after 1 min doubling (capped at 6 h) until
    /// `maximumAttempts`, then `failed`.
    public func recordAttempt(id: String, attempts: Int, error: String?) async throws {
        let now = clock.now()
        let done = attempts + 1
        let status = error == nil ? "delivered" : done >= Self.maximumAttempts ? "failed" : "pending"
        let next = now.addingTimeInterval(min(60 * pow(2, Double(done - 1)), 6 * 3600))
        try await store.sql.update("webhook_deliveries").set("status", to: status).set("attempts", to: done).set("next_attempt_ms", to: next.millis)
            .set("last_error", to: error.map { String($0.prefix(300)) }).where("id", .equal, id).run()
    }

    /// Recent deliveries of the merchant, newest first (for the API and the cabinet).
    public func deliveries(
        merchantID: String,
        limit: Int = 50
    ) async throws -> [(id: String, eventType: String, status: String, attempts: Int, lastError: String?, payload: String)] {
        struct Row: Decodable {
            let id: String
            let event_type: String
            let status: String
            let attempts: Int64
            let last_error: String?
            let payload: String
        }
        return try await store.sql.select().column("id").column("event_type").column("status").column("attempts").column("last_error").column(
            "payload"
        )
        .from("webhook_deliveries").where("merchant_id", .equal, merchantID).orderBy("created_ms", .descending).orderBy("id", .descending).limit(
            limit
        )
        .all(decoding: Row.self).map { ($0.id, $0.event_type, $0.status, Int($0.attempts), $0.last_error, $0.payload) }
    }

    /// The `Keyward-Signature` header value: `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
    public static func signature(secret: String, timestamp: Int, body: [UInt8]) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Array("\(timestamp).".utf8) + body, using: SymmetricKey(data: Array(secret.utf8)))
        return "t=\(timestamp),v1=\(Hex.encode(mac))"
    }
}
