import Foundation
import KeywardCrypto
import SQLKit

extension AuditLog {
    /// An entry to append with `recordAll` or `append(_:on:)`.
    public struct Draft: Sendable {
        public let merchantID: String?
        public let mode: Mode?
        public let actor: AuditActor
        /// The action's text: its name from the vocabulary and any detail.
        public let action: String
        public let targetID: String?
        public let outcome: String

        public init(
            merchantID: String?,
            mode: Mode?,
            actor: AuditActor,
            action: AuditAction,
            detail: String? = nil,
            targetID: String?,
            outcome: String = "ok"
        ) {
            self.merchantID = merchantID
            self.mode = mode
            self.actor = actor
            self.action = action.text(detail: detail)
            self.targetID = targetID
            self.outcome = outcome
        }

        /// A draft whose action text was composed already (an `AuditScope`'s).
        init(merchantID: String?, mode: Mode?, actor: AuditActor, actionText: String, targetID: String?, outcome: String) {
            self.merchantID = merchantID
            self.mode = mode
            self.actor = actor
            self.action = actionText
            self.targetID = targetID
            self.outcome = outcome
        }
    }

    /// Appends many entries, chained in order, in one transaction of multi-row inserts: one round trip
    /// per 500 entries instead of two per entry (a leak report can revoke thousands of keys at once).
    /// Serialised with other appends as `append(_:on:)` is; on SQLite a concurrent writer taking a
    /// sequence number makes the transaction fail on the unique `seq`, and the batch is chained again.
    public func recordAll(_ drafts: [Draft]) async throws {
        guard !drafts.isEmpty else { return }
        let clock = self.clock
        var attempt = 0
        while true {
            attempt += 1
            do {
                try await store.transaction { sql in
                    if store.engine.isPostgres {
                        try await sql.raw("SELECT pg_advisory_xact_lock(\(bind: Self.appendLock))").run()
                    }
                    let last = try await sql.select().column("seq").column("hash").from("audit_log").orderBy("seq", .descending).limit(1)
                        .first(decoding: SeqHash.self)
                    var seq = last?.seq ?? 0
                    var previous = last?.hash ?? Self.genesis
                    let at = clock.now().millis
                    var rows: [AuditRow] = []
                    rows.reserveCapacity(drafts.count)
                    for draft in drafts {
                        seq += 1
                        let row = Self.row(draft, seq: seq, previous: previous, at: at)
                        rows.append(row)
                        previous = row.hash
                    }
                    for chunk in rows.chunked(500) {
                        try await sql.insert(into: "audit_log").models(chunk, nilEncodingStrategy: .asNil).run()
                    }
                    var checkpoints: [AuditCheckpoint] = []
                    if let keyring = self.keyring {
                        for row in rows where row.seq % self.checkpointInterval == 0 {
                            if let checkpoint = AuditCheckpoint.make(seq: row.seq, hash: row.hash, at: row.at_ms, keyring: keyring) {
                                checkpoints.append(checkpoint)
                            }
                        }
                    }
                    if !checkpoints.isEmpty { try await sql.insert(into: "audit_checkpoints").models(checkpoints).run() }
                }
                return
            } catch  where attempt < 50 {
                try await Task.sleep(for: .milliseconds(Int.random(in: 1...10)))
            }
        }
    }
}
