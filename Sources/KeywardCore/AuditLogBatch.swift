import Foundation
import KeywardCrypto
import SQLKit

extension AuditLog {
    /// An entry to append with `recordAll`.
    public struct Draft: Sendable {
        public let merchantID: String?
        public let mode: Mode?
        public let actor: AuditActor
        public let action: String
        public let targetID: String?
        public let outcome: String

        public init(merchantID: String?, mode: Mode?, actor: AuditActor, action: String, targetID: String?, outcome: String = "ok") {
            self.merchantID = merchantID
            self.mode = mode
            self.actor = actor
            self.action = action
            self.targetID = targetID
            self.outcome = outcome
        }
    }

    /// Appends many entries, chained in order, in one transaction of multi-row inserts: one round trip
    /// per 500 entries instead of two per entry (a leak report can revoke thousands of keys at once).
    /// A concurrent writer taking a sequence number makes the transaction fail on the unique `seq`;
    /// the whole batch is then chained again onto the new end.
    public func recordAll(_ drafts: [Draft]) async throws {
        guard !drafts.isEmpty else { return }
        let clock = self.clock
        var attempt = 0
        while true {
            attempt += 1
            do {
                try await store.transaction { sql in
                    let last = try await sql.select().column("seq").column("hash").from("audit_log").orderBy("seq", .descending).limit(1)
                        .first(decoding: SeqHash.self)
                    var seq = last?.seq ?? 0
                    var previous = last?.hash ?? Self.genesis
                    let at = clock.now().millis
                    var rows: [AuditRow] = []
                    rows.reserveCapacity(drafts.count)
                    for draft in drafts {
                        seq += 1
                        let id = Identifier.make("aud")
                        let action = String(draft.action.prefix(200)), targetID = draft.targetID.map { String($0.prefix(100)) }
                        let address = draft.actor.address.map { String($0.prefix(64)) }, outcome = String(draft.outcome.prefix(300))
                        let hash = AuditRow.hash(previous: previous, seq: seq, id: id, atMillis: at, merchantID: draft.merchantID, actorType: draft.actor.type,
                                                 actorID: draft.actor.id, address: address, action: action, targetID: targetID, outcome: outcome,
                                                 mode: draft.mode?.rawValue)
                        rows.append(AuditRow(seq: seq, id: id, at_ms: at, merchant_id: draft.merchantID, actor_type: draft.actor.type, actor_id: draft.actor.id,
                                             address: address, action: action, target_id: targetID, outcome: outcome, previous_hash: previous, hash: hash,
                                             mode: draft.mode?.rawValue))
                        previous = hash
                    }
                    for chunk in rows.chunked(500) {
                        try await sql.insert(into: "audit_log").models(chunk, nilEncodingStrategy: .asNil).run()
                    }
                }
                return
            } catch where attempt < 50 {
                try await Task.sleep(for: .milliseconds(Int.random(in: 1...10)))
            }
        }
    }
}
