import Foundation
import KeywardCrypto
import SQLKit

/// One match in a secret scanner's report, as sent (GitHub: `{token, type, url, source}`).
public struct ReportedToken: Sendable, Equatable {
    /// The string the scanner found. Never stored, logged or echoed: only its SHA-256 is kept.
    public let token: String
    /// The scanner's name for the pattern that matched (echoed in the feedback).
    public let type: String
    /// Where it was found; may be empty.
    public let url: String
    /// What kind of place (`content`, `commit`, `issue_comment`, …; `unknown` when not said).
    public let source: String

    public init(token: String, type: String, url: String, source: String) {
        self.token = token
        self.type = type
        self.url = url
        self.source = source
    }
}

/// The answer for one reported token, in GitHub's feedback format.
public struct LeakFeedback: Sendable, Equatable, Encodable {
    /// Lowercase hex SHA-256 of the token as reported.
    public let token_hash: String
    public let token_type: String
    /// `true_positive` (a Keyward secret key, whatever its state) or `false_positive`.
    public let label: String
}

/// What a leak report did to the key.
public enum LeakAction: String, Sendable, Codable {
    /// It stopped working at once.
    case revoked
    /// A test key of a merchant that chose an overlap: it works until `expires_at`, then expires.
    case expiring
    /// It was revoked already (by the merchant, or by an earlier report).
    case alreadyRevoked = "already_revoked"
    /// It had expired already.
    case alreadyExpired = "already_expired"
}

/// A recorded leak, as the cabinet banner shows it (never the token).
public struct LeakReportInfo: Sendable, Equatable {
    public let id: String
    public let merchantID: String
    public let mode: Mode
    public let keyID: String
    public let keyName: String
    public let last4: String
    public let source: String
    public let url: String
    public let action: LeakAction
    /// When the key stops working, for `expiring`.
    public let expiresAt: Date?
    public let reportedAt: Date
}

/// Acts on secret scanners' reports of leaked keys (GitHub's secret scanning partner program): every
/// reported Keyward secret key stops working (revoked at once; a test key after the merchant's chosen
/// overlap), each new place it leaked is recorded, announced by a `key.leaked` webhook and audited, and
/// the scanner gets one feedback entry per token.
///
/// Lookups and writes are batched (500 keys a statement), so a report of 10,000 tokens is a few dozen
/// round trips. Replays change nothing: a leak is recorded once per key and place (unique in the
/// database), and only a newly recorded leak is announced and audited.
public struct LeakedKeyService: Sendable {
    let store: KeywardStore
    let changes: CredentialChanges
    let webhooks: WebhookService
    let audit: AuditLog
    let clock: KeywardClock

    /// The cabinet shows leaks of the last 14 days.
    public static let bannerDays = 14
    static let batch = 500

    public init(store: KeywardStore, changes: CredentialChanges, webhooks: WebhookService, audit: AuditLog, clock: KeywardClock = .system) {
        self.store = store
        self.changes = changes
        self.webhooks = webhooks
        self.audit = audit
        self.clock = clock
    }

    /// What one report did.
    public struct Outcome: Sendable {
        /// One entry per reported token, in the order reported.
        public let feedback: [LeakFeedback]
        /// Newly recorded leaks (a replay records none).
        public let recorded: Int
        /// Keys that stopped working or got an expiry now.
        public let stopped: Int
    }

    /// Acts on a verified report. `scanner` names the key that signed it (the audit's actor).
    public func process(_ tokens: [ReportedToken], scanner: String) async throws -> Outcome {
        let hashes = tokens.map { APIKeyFormat.digest(of: $0.token) }
        // Only well-formed Keyward keys (prefix, length, checksum) are looked up.
        var candidates = Set<String>()
        for (index, reported) in tokens.enumerated() where (try? APIKeyFormat.validate(reported.token)) != nil {
            candidates.insert(hashes[index])
        }
        let found = try await keyIDs(forHashes: Array(candidates))
        var facts: [Fact] = []
        var seen = Set<String>()
        for (index, reported) in tokens.enumerated() {
            guard let keyID = found[hashes[index]] else { continue }
            let fact = Fact(keyID: keyID, tokenHash: hashes[index], reported: reported)
            if seen.insert(fact.keyID + " " + fact.locationHash).inserted { facts.append(fact) }
        }
        var recorded: [Recorded] = []
        for chunk in facts.chunked(Self.batch) {
            recorded += try await record(chunk, scanner: scanner)
        }
        let actor = AuditActor(type: "scanner", id: String(scanner.prefix(100)))
        try await audit.recordAll(
            recorded.map {
                AuditLog.Draft(
                    merchantID: $0.merchantID,
                    mode: $0.mode,
                    actor: actor,
                    action: .secretKeyLeaked,
                    targetID: $0.keyID,
                    outcome: $0.action.rawValue
                )
            }
        )
        let feedback = tokens.enumerated().map { index, reported in
            LeakFeedback(
                token_hash: hashes[index],
                token_type: reported.type,
                label: found[hashes[index]] == nil ? "false_positive" : "true_positive"
            )
        }
        return Outcome(feedback: feedback, recorded: recorded.count, stopped: recorded.filter(\.stoppedNow).count)
    }

    /// Leaks of the merchant reported since `since`, newest first.
    public func recent(merchantID: String, since: Date, limit: Int = 20) async throws -> (reports: [LeakReportInfo], total: Int) {
        struct Row: Decodable {
            let id: String, merchant_id: String, mode: String, key_id: String, name: String, last4: String, source: String, url: String
            let action: String, expires_ms: Int64?, reported_ms: Int64
        }
        struct Count: Decodable { let count: Int64 }
        let rows = try await store.sql.raw(
            """
            SELECT l.id, l.merchant_id, l.mode, l.key_id, k.name, k.last4, l.source, l.url, l.action, l.expires_ms, l.reported_ms
            FROM leak_reports l JOIN secret_keys k ON k.id = l.key_id
            WHERE l.merchant_id = \(bind: merchantID) AND l.reported_ms >= \(bind: since.millis)
            ORDER BY l.reported_ms DESC, l.id DESC LIMIT \(bind: max(1, min(limit, 200)))
            """
        ).all(decoding: Row.self)
        let total =
            rows.count < limit
            ? rows.count
            : Int(
                try await store.sql.raw(
                    """
                    SELECT COUNT(*) AS count FROM leak_reports WHERE merchant_id = \(bind: merchantID) AND reported_ms >= \(bind: since.millis)
                    """
                ).first(decoding: Count.self)?.count ?? 0
            )
        return (
            rows.map {
                LeakReportInfo(
                    id: $0.id,
                    merchantID: $0.merchant_id,
                    mode: Mode(rawValue: $0.mode) ?? .test,
                    keyID: $0.key_id,
                    keyName: $0.name,
                    last4: $0.last4,
                    source: $0.source,
                    url: $0.url,
                    action: LeakAction(rawValue: $0.action) ?? .revoked,
                    expiresAt: $0.expires_ms.map(Date.init(millis:)),
                    reportedAt: Date(millis: $0.reported_ms)
                )
            }, total
        )
    }

    // MARK: - Steps

    /// A reported key and where it was found.
    struct Fact: Sendable {
        let keyID: String
        let tokenHash: String
        let type: String
        let url: String
        let source: String
        /// SHA-256 of source and URL as reported: what makes two reports the same leak.
        let locationHash: String

        init(keyID: String, tokenHash: String, reported: ReportedToken) {
            self.keyID = keyID
            self.tokenHash = tokenHash
            self.type = String(reported.type.prefix(100))
            self.url = String(reported.url.prefix(2048))
            self.source = String(reported.source.prefix(64))
            self.locationHash = APIKeyFormat.digest(of: "\(reported.source)\n\(reported.url)")
        }
    }

    /// A leak recorded now.
    struct Recorded: Sendable {
        let merchantID: String
        let mode: Mode
        let keyID: String
        let action: LeakAction
        let stoppedNow: Bool
    }

    struct KeyState: Decodable {
        let id: String, merchant_id: String, mode: String, name: String, last4: String
        var expires_ms: Int64?
        var revoked_ms: Int64?
    }

    struct LeakRow: Codable {
        let id: String, merchant_id: String, mode: String, key_id: String, token_hash: String, token_type: String, source: String, url: String
        let location_hash: String, scanner: String, action: String, expires_ms: Int64?, reported_ms: Int64
    }

    /// Key ids by secret hash, 500 hashes a query.
    func keyIDs(forHashes hashes: [String]) async throws -> [String: String] {
        struct Row: Decodable {
            let id: String
            let secret_hash: String
        }
        var result: [String: String] = [:]
        for chunk in hashes.chunked(Self.batch) {
            for row in try await store.sql.select().column("id").column("secret_hash").from("secret_keys").where("secret_hash", .in, chunk)
                .all(decoding: Row.self)
            {
                result[row.secret_hash] = row.id
            }
        }
        return result
    }

    /// Records the new leaks of one batch and stops their keys, in one transaction with the credential
    /// change record and the webhooks. The keys are read locked (PostgreSQL `FOR UPDATE`, in id order),
    /// so concurrent reports of the same key wait for each other and the second sees the first's
    /// revocation and leak rows. A failed attempt (a deadlock, a busy SQLite file) is retried.
    func record(_ facts: [Fact], scanner: String) async throws -> [Recorded] {
        var attempt = 0
        while true {
            attempt += 1
            do {
                let recorded = try await store.transaction { sql in try await self.write(facts, scanner: scanner, on: sql) }
                if recorded.contains(where: \.stoppedNow) { changes.localChange() }
                return recorded
            } catch  where attempt < 10 {
                try await Task.sleep(for: .milliseconds(Int.random(in: 5...20) * attempt))
            }
        }
    }

    func write(_ facts: [Fact], scanner: String, on sql: any SQLDatabase) async throws -> [Recorded] {
        let now = clock.now()
        let ids = Array(Set(facts.map(\.keyID))).sorted()
        var keys: [String: KeyState] = [:]
        for row in try await sql.select().column("id").column("merchant_id").column("mode").column("name").column("last4").column("expires_ms")
            .column("revoked_ms").from("secret_keys").where("id", .in, ids).orderBy("id").for(.update).all(decoding: KeyState.self)
        {
            keys[row.id] = row
        }
        struct Seen: Decodable {
            let key_id: String
            let location_hash: String
        }
        let known = Set(
            try await sql.select().column("key_id").column("location_hash").from("leak_reports").where("key_id", .in, ids)
                .all(decoding: Seen.self).map { $0.key_id + " " + $0.location_hash }
        )
        let graces = try await testKeyGraces(merchantIDs: Set(keys.values.filter { $0.mode == Mode.test.rawValue }.map(\.merchant_id)), on: sql)

        var leaks: [LeakRow] = []
        var recorded: [Recorded] = []
        var revoke: [String] = []
        var expire: [Int64: [String]] = [:]
        var events: [(merchantID: String, eventType: String, payload: String)] = []
        for fact in facts where !known.contains(fact.keyID + " " + fact.locationHash) {
            guard var key = keys[fact.keyID] else { continue }
            let mode = Mode(rawValue: key.mode) ?? .live
            let grace = mode == .test ? graces[key.merchant_id] ?? 0 : 0
            let action: LeakAction
            var stoppedNow = false
            if key.revoked_ms != nil {
                action = .alreadyRevoked
            } else if let expires = key.expires_ms, expires <= now.millis {
                action = .alreadyExpired
            } else if grace <= 0 {
                key.revoked_ms = now.millis
                revoke.append(key.id)
                (action, stoppedNow) = (.revoked, true)
            } else {
                // The overlap never lengthens a key's life: an earlier expiry (its own, a roll's, an
                // earlier report's) stays.
                let deadline = now.addingTimeInterval(TimeInterval(grace)).millis
                if key.expires_ms.map({ $0 > deadline }) ?? true {
                    key.expires_ms = deadline
                    expire[deadline, default: []].append(key.id)
                    stoppedNow = true
                }
                action = .expiring
            }
            keys[key.id] = key
            let leak = LeakRow(
                id: Identifier.make("lkr"),
                merchant_id: key.merchant_id,
                mode: mode.rawValue,
                key_id: key.id,
                token_hash: fact.tokenHash,
                token_type: fact.type,
                source: fact.source,
                url: fact.url,
                location_hash: fact.locationHash,
                scanner: String(scanner.prefix(256)),
                action: action.rawValue,
                expires_ms: action == .expiring ? key.expires_ms : nil,
                reported_ms: now.millis
            )
            leaks.append(leak)
            events.append((key.merchant_id, "key.leaked", Self.payload(leak, key: key, now: now)))
            recorded.append(Recorded(merchantID: key.merchant_id, mode: mode, keyID: key.id, action: action, stoppedNow: stoppedNow))
        }
        if !revoke.isEmpty {
            try await sql.update("secret_keys").set("revoked_ms", to: now.millis).where("id", .in, revoke).where("revoked_ms", .is, SQLLiteral.null)
                .run()
        }
        for (deadline, keyIDs) in expire {
            try await sql.update("secret_keys").set("expires_ms", to: deadline).where("id", .in, keyIDs).run()
        }
        if !leaks.isEmpty {
            try await sql.insert(into: "leak_reports").models(leaks, nilEncodingStrategy: .asNil).run()
            try await webhooks.enqueueAll(sql, merchantIDs: try await webhooks.merchantsWithEndpoints(on: sql), events: events)
        }
        if !revoke.isEmpty || !expire.isEmpty { try await changes.record(on: sql) }
        return recorded
    }

    func testKeyGraces(merchantIDs: Set<String>, on sql: any SQLDatabase) async throws -> [String: Int] {
        guard !merchantIDs.isEmpty else { return [:] }
        struct Row: Decodable {
            let merchant_id: String
            let leaked_test_key_grace_seconds: Int64?
        }
        var graces: [String: Int] = [:]
        for chunk in Array(merchantIDs).chunked(Self.batch) {
            for row in try await sql.select().column("merchant_id").column("leaked_test_key_grace_seconds").from("merchant_settings")
                .where("merchant_id", .in, chunk).all(decoding: Row.self)
            {
                graces[row.merchant_id] = Int(row.leaked_test_key_grace_seconds ?? 0)
            }
        }
        return graces
    }

    /// The `key.leaked` event: which key, where, what was done. Never the token.
    static func payload(_ leak: LeakRow, key: KeyState, now: Date) -> String {
        struct Event: Encodable {
            let id: String, type: String, created: Int, data: Body
            struct Body: Encodable {
                let key: Key, leak: Leak, action: String, expires_at: String?
            }
            struct Key: Encodable { let id: String, name: String, mode: String, last4: String }
            struct Leak: Encodable { let source: String, url: String, token_type: String, reported_at: String }
        }
        let event = Event(
            id: Identifier.make("evt"),
            type: "key.leaked",
            created: Int(now.timeIntervalSince1970),
            data: .init(
                key: .init(id: key.id, name: key.name, mode: key.mode, last4: key.last4),
                leak: .init(source: leak.source, url: leak.url, token_type: leak.token_type, reported_at: now.formatted(.iso8601)),
                action: leak.action,
                expires_at: leak.expires_ms.map { Date(millis: $0).formatted(.iso8601) }
            )
        )
        return JSONText.encode(event)
    }
}
