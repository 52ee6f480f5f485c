import Crypto
import Foundation
import KeywardCrypto
import SQLKit

/// Who made a change.
public struct AuditActor: Sendable, Equatable {
    /// `key` (an API key), `user` (a cabinet user), `operator` (the CLI) or `system` (Keyward's own workers).
    public let type: String
    public let id: String
    /// The client address, when there was one.
    public let address: String?

    public init(type: String, id: String, address: String? = nil) {
        self.type = type
        self.id = id
        self.address = address
    }

    public static let system = AuditActor(type: "system", id: "keyward")
}

/// One audit entry.
public struct AuditEntry: Sendable, Equatable, Encodable {
    public let seq: Int64
    public let id: String
    public let at: Date
    public let merchantID: String?
    public let actorType: String
    public let actorID: String
    public let address: String?
    /// What was done: an `AuditAction` name and any detail (`secret_key.roll`, `member.invite Developer`).
    /// Entries written before the vocabulary say `POST /v1/manage/keys` or `cabinet: roll secret key`.
    public let action: String
    public let targetID: String?
    public let outcome: String
    /// The mode of what was changed; nil for merchant-wide changes (and entries from before modes were recorded).
    public let mode: Mode?
    public let previousHash: String
    public let hash: String

    enum CodingKeys: String, CodingKey {
        case seq, id, at
        case merchantID = "merchant_id"
        case actorType = "actor_type"
        case actorID = "actor_id"
        case address, action
        case targetID = "target_id"
        case outcome, mode
        case previousHash = "previous_hash"
        case hash
    }

    /// Times as ISO 8601 text, whatever the encoder's date strategy.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(seq, forKey: .seq)
        try container.encode(id, forKey: .id)
        try container.encode(at.formatted(.iso8601), forKey: .at)
        try container.encode(merchantID, forKey: .merchantID)
        try container.encode(actorType, forKey: .actorType)
        try container.encode(actorID, forKey: .actorID)
        try container.encode(address, forKey: .address)
        try container.encode(action, forKey: .action)
        try container.encode(targetID, forKey: .targetID)
        try container.encode(outcome, forKey: .outcome)
        try container.encode(mode?.rawValue, forKey: .mode)
        try container.encode(previousHash, forKey: .previousHash)
        try container.encode(hash, forKey: .hash)
    }
}

struct AuditRow: Codable {
    let seq: Int64
    let id: String
    let at_ms: Int64
    let merchant_id: String?
    let actor_type: String
    let actor_id: String
    let address: String?
    let action: String
    let target_id: String?
    let outcome: String
    let previous_hash: String
    let hash: String
    let mode: String?

    var entry: AuditEntry {
        AuditEntry(
            seq: seq,
            id: id,
            at: Date(millis: at_ms),
            merchantID: merchant_id,
            actorType: actor_type,
            actorID: actor_id,
            address: address,
            action: action,
            targetID: target_id,
            outcome: outcome,
            mode: mode.flatMap(Mode.init(rawValue:)),
            previousHash: previous_hash,
            hash: hash
        )
    }

    /// SHA-256 over the previous hash and every field, each length-prefixed so no two entries share an input.
    /// The mode is covered when there is one (entries from before modes were recorded keep their hashes).
    static func hash(
        previous: String,
        seq: Int64,
        id: String,
        atMillis: Int64,
        merchantID: String?,
        actorType: String,
        actorID: String,
        address: String?,
        action: String,
        targetID: String?,
        outcome: String,
        mode: String?
    ) -> String {
        var input = ""
        for field in [
            previous, String(seq), id, String(atMillis), merchantID ?? "-", actorType, actorID, address ?? "-", action, targetID ?? "-", outcome,
        ]
            + (mode.map { ["mode", $0] } ?? [])
        {
            input += "\(field.utf8.count):\(field)\n"
        }
        return Hex.encode(SHA256.hash(data: Array(input.utf8)))
    }

    var recomputedHash: String {
        Self.hash(
            previous: previous_hash,
            seq: seq,
            id: id,
            atMillis: at_ms,
            merchantID: merchant_id,
            actorType: actor_type,
            actorID: actor_id,
            address: address,
            action: action,
            targetID: target_id,
            outcome: outcome,
            mode: mode
        )
    }
}

/// The audit log: append-only and hash-chained (each entry carries the hash of the one before), so
/// `verify` finds any edited, inserted or deleted row. Appends race on a unique sequence number and
/// retry, which keeps one chain across instances without a lock.
public struct AuditLog: Sendable {
    let store: KeywardStore
    let clock: KeywardClock

    public static let genesis = String(repeating: "0", count: 64)

    /// Keys for the checkpoints; nil writes and checks none.
    let keyring: MasterKeyring?
    /// A checkpoint is written with every entry whose sequence number is a multiple of this.
    let checkpointInterval: Int64
    public static let defaultCheckpointInterval: Int64 = 100

    public init(
        store: KeywardStore,
        clock: KeywardClock = .system,
        keyring: MasterKeyring? = nil,
        checkpointInterval: Int64 = AuditLog.defaultCheckpointInterval
    ) {
        self.store = store
        self.clock = clock
        self.keyring = keyring
        self.checkpointInterval = max(1, checkpointInterval)
    }

    /// Appends an entry in a transaction of its own and returns it. `mode` is the mode of what changed;
    /// leave it nil for merchant-wide changes, which test-mode keys do not see. A change that must not
    /// commit without its entry appends with `append(_:on:)` inside its own transaction instead.
    @discardableResult
    public func record(
        merchantID: String?,
        mode: Mode? = nil,
        actor: AuditActor,
        action: AuditAction,
        detail: String? = nil,
        targetID: String?,
        outcome: String = "ok"
    ) async throws -> AuditEntry {
        try await record(
            Draft(merchantID: merchantID, mode: mode, actor: actor, action: action, detail: detail, targetID: targetID, outcome: outcome)
        )
    }

    /// Appends `draft` in a transaction of its own, retrying when another writer took its sequence number.
    func record(_ draft: Draft) async throws -> AuditEntry {
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try await store.transaction { sql in try await self.append(draft, on: sql) }
            } catch  where attempt < 50 {
                // A writer that does not serialise (an older instance) took this sequence number: chain onto its entry.
                try await Task.sleep(for: .milliseconds(Int.random(in: 1...5)))
            }
        }
    }

    /// Appends `draft` inside the caller's transaction, so the entry commits or rolls back with the change
    /// it describes (and an entry that cannot be written fails the change instead of losing the record).
    ///
    /// Appends are serialised so the chain stays one line: on PostgreSQL by a transaction-scoped advisory
    /// lock taken here (held until commit, taken after any row locks of the change, so no lock cycle); on
    /// SQLite by the database's single writer, whose lock our transactions take when they begin.
    @discardableResult
    public func append(_ draft: Draft, on sql: any SQLDatabase) async throws -> AuditEntry {
        if store.engine.isPostgres {
            try await sql.raw("SELECT pg_advisory_xact_lock(\(bind: Self.appendLock))").run()
        }
        let last = try await sql.select().column("seq").column("hash").from("audit_log").orderBy("seq", .descending).limit(1)
            .first(decoding: SeqHash.self)
        let seq = (last?.seq ?? 0) + 1
        let row = Self.row(draft, seq: seq, previous: last?.hash ?? Self.genesis, at: clock.now().millis)
        try await sql.insert(into: "audit_log").model(row).run()
        // The checkpoint commits with its entry: never an entry at a checkpoint's place without one.
        if seq % checkpointInterval == 0,
            let checkpoint = keyring.flatMap({ AuditCheckpoint.make(seq: seq, hash: row.hash, at: row.at_ms, keyring: $0) })
        {
            try await sql.insert(into: "audit_checkpoints").model(checkpoint).run()
        }
        return row.entry
    }

    /// The advisory lock id that serialises appends on PostgreSQL ("keyward audit" in ASCII, shortened).
    static let appendLock: Int64 = 0x6B77_6175_6469_7400

    /// The row for `draft` at `seq`, chained onto `previous`; fields longer than their columns are cut.
    static func row(_ draft: Draft, seq: Int64, previous: String, at: Int64) -> AuditRow {
        let id = Identifier.make("aud")
        let action = String(draft.action.prefix(200))
        let targetID = draft.targetID.map { String($0.prefix(100)) }
        let address = draft.actor.address.map { String($0.prefix(64)) }
        let outcome = String(draft.outcome.prefix(300))
        let hash = AuditRow.hash(
            previous: previous,
            seq: seq,
            id: id,
            atMillis: at,
            merchantID: draft.merchantID,
            actorType: draft.actor.type,
            actorID: draft.actor.id,
            address: address,
            action: action,
            targetID: targetID,
            outcome: outcome,
            mode: draft.mode?.rawValue
        )
        return AuditRow(
            seq: seq,
            id: id,
            at_ms: at,
            merchant_id: draft.merchantID,
            actor_type: draft.actor.type,
            actor_id: draft.actor.id,
            address: address,
            action: action,
            target_id: targetID,
            outcome: outcome,
            previous_hash: previous,
            hash: hash,
            mode: draft.mode?.rawValue
        )
    }

    struct SeqHash: Decodable {
        let seq: Int64
        let hash: String
    }

    /// Entries, newest first; `merchantID` nil = all (operators). `onlyMode` keeps the entries of that
    /// mode only (what a test-mode key may read: never live or merchant-wide entries).
    public func list(
        merchantID: String?,
        onlyMode: Mode? = nil,
        action: String? = nil,
        before seq: Int64? = nil,
        limit: Int = 100
    ) async throws -> [AuditEntry] {
        var query = store.sql.select().column("*").from("audit_log")
        if let merchantID { query = query.where("merchant_id", .equal, merchantID) }
        if let onlyMode { query = query.where("mode", .equal, onlyMode.rawValue) }
        if let action { query = query.where("action", .like, "%\(action.replacingOccurrences(of: "%", with: ""))%") }
        if let seq { query = query.where("seq", .lessThan, seq) }
        return try await query.orderBy("seq", .descending).limit(limit).all(decoding: AuditRow.self).map(\.entry)
    }

    /// What `verify` found.
    public struct Verification: Sendable, Equatable {
        public var entries = 0
        /// The first broken place: the sequence number and what is wrong there.
        public var firstProblem: (seq: Int64, reason: String)?

        public static func == (a: Verification, b: Verification) -> Bool {
            a.entries == b.entries && a.firstProblem?.seq == b.firstProblem?.seq && a.firstProblem?.reason == b.firstProblem?.reason
        }
    }

    /// Walks the whole chain in order: every hash must be recomputable, link to the previous entry, and
    /// sequence numbers must have no gap.
    ///
    /// Checkpoints (the database's and any `anchors` exported earlier) must carry a valid MAC and match
    /// the entry they name, and the chain must reach the newest of them: a rewritten chain, or one whose
    /// newest entries were deleted, fails here even though its hashes link.
    public func verify(anchors: [AuditCheckpoint] = []) async throws -> Verification {
        var result = Verification()
        var checkpoints: [Int64: AuditCheckpoint] = [:]
        for checkpoint in try await self.checkpoints() + anchors {
            if let problem = checkpoint.problem(keyring: keyring) {
                result.firstProblem = (checkpoint.seq, problem)
                return result
            }
            if let other = checkpoints[checkpoint.seq], other.hash != checkpoint.hash {
                result.firstProblem = (checkpoint.seq, "two checkpoints disagree on this entry's hash")
                return result
            }
            checkpoints[checkpoint.seq] = checkpoint
        }
        let newestAnchored = checkpoints.keys.max() ?? 0
        var previous = Self.genesis
        var expected: Int64 = 1
        var after: Int64 = 0
        while true {
            let rows = try await store.sql.select().column("*").from("audit_log").where("seq", .greaterThan, after).orderBy("seq").limit(5000)
                .all(decoding: AuditRow.self)
            if rows.isEmpty {
                if Int64(result.entries) < newestAnchored {
                    result.firstProblem = (
                        Int64(result.entries) + 1,
                        "entries \(result.entries + 1) to \(newestAnchored) are missing (the newest entries were deleted): checkpoint \(newestAnchored) anchors them"
                    )
                }
                return result
            }
            for row in rows {
                if row.seq != expected {
                    result.firstProblem = (expected, "entry \(expected) is missing (deleted)")
                    return result
                }
                if row.previous_hash != previous {
                    result.firstProblem = (row.seq, "does not link to entry \(row.seq - 1) (an entry before it was changed or removed)")
                    return result
                }
                if row.recomputedHash != row.hash {
                    result.firstProblem = (row.seq, "its contents do not match its hash (edited)")
                    return result
                }
                if let checkpoint = checkpoints[row.seq], checkpoint.hash != row.hash {
                    result.firstProblem = (row.seq, "does not match its keyed checkpoint (the chain was rewritten)")
                    return result
                }
                previous = row.hash
                expected += 1
                result.entries += 1
            }
            after = rows.last?.seq ?? after
        }
    }
}

extension AuditLog {
    /// Every checkpoint in the database, oldest first (`keyward audit checkpoints` exports them).
    public func checkpoints() async throws -> [AuditCheckpoint] {
        try await store.sql.select().column("*").from("audit_checkpoints").orderBy("seq").all(decoding: AuditCheckpoint.self)
    }
}

/// A keyed anchor of the audit chain: entry `seq` has `hash`, vouched for by an HMAC-SHA256 under a key
/// derived from master key `key_id`. Without the master key nobody can make one, so a chain rebuilt
/// from scratch (its SHA-256 links are unkeyed) or cut short does not match the checkpoints; exported
/// copies kept elsewhere also catch checkpoints deleted from the database.
public struct AuditCheckpoint: Sendable, Codable, Equatable {
    public let seq: Int64
    public let hash: String
    public let key_id: String
    public let mac: String
    public let at_ms: Int64

    static let purpose = "audit-checkpoint"

    /// A checkpoint as exported (e.g. read back from `keyward audit checkpoints`).
    public init(seq: Int64, hash: String, key_id: String, mac: String, at_ms: Int64) {
        self.seq = seq
        self.hash = hash
        self.key_id = key_id
        self.mac = mac
        self.at_ms = at_ms
    }

    static func input(seq: Int64, hash: String) -> [UInt8] { Array("keyward-audit-checkpoint\n\(seq)\n\(hash)".utf8) }

    static func make(seq: Int64, hash: String, at: Int64, keyring: MasterKeyring) -> AuditCheckpoint? {
        guard let (keyID, key) = keyring.derivedKey(purpose: purpose) else { return nil }
        let mac = HMAC<SHA256>.authenticationCode(for: input(seq: seq, hash: hash), using: key)
        return AuditCheckpoint(seq: seq, hash: hash, key_id: keyID, mac: Hex.encode(mac), at_ms: at)
    }

    /// Why this checkpoint is not genuine, or nil. Without a keyring only its shape is checked.
    func problem(keyring: MasterKeyring?) -> String? {
        guard let keyring else { return nil }
        guard let (_, key) = keyring.derivedKey(purpose: Self.purpose, keyID: key_id) else {
            return "its checkpoint names master key \(key_id), which this server does not hold"
        }
        let expected = Hex.encode(HMAC<SHA256>.authenticationCode(for: Self.input(seq: seq, hash: hash), using: key))
        guard expected.utf8.count == mac.utf8.count, zip(expected.utf8, mac.utf8).reduce(0, { $0 | ($1.0 ^ $1.1) }) == 0 else {
            return "its checkpoint's MAC is wrong (forged or altered)"
        }
        return nil
    }
}
