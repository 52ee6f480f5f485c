import Foundation
import KeywardCrypto
import SQLKit

/// A row of one of the credential tables, written through the change log.
protocol StoredRow: Codable, Sendable {
    /// The table its rows live in.
    static var table: String { get }
    /// Its id.
    var id: String { get }
}

/// A row a merchant names by id within its merchant and mode (`key_…`, `pyk_…`, `sgk_…`, `jwk_…`, `sto_…`):
/// its table has `merchant_id`, `mode` and `created_ms` columns.
protocol MerchantScopedRow: StoredRow {
    /// The prefix of its ids.
    static var idPrefix: String { get }
    /// What the merchant calls it, for "not found" and "cannot be rolled" messages.
    static var noun: String { get }
}

/// A stored credential that can be revoked: its table has a `revoked_ms` column.
protocol RevocableRow: StoredRow {
    /// When it was revoked (milliseconds), if it was.
    var revoked_ms: Int64? { get set }
}

/// A merchant's credential that can be revoked.
typealias MerchantCredentialRow = MerchantScopedRow & RevocableRow

/// A credential that can be rolled: replaced by a new one while the old one keeps working for an overlap.
protocol RollableRow: MerchantScopedRow, RevocableRow {
    var expires_ms: Int64? { get }
    var created_ms: Int64 { get }
    /// The credential that replaced it by a roll.
    var replaced_by: String? { get }
    /// Its lifecycle state (see `CredentialStatus`).
    func status(at now: Date) -> CredentialStatus
}

extension RollableRow {
    /// How long it was made to live (its expiry minus its creation), so a replacement lives as long.
    var lifetime: TimeInterval? { expires_ms.map { TimeInterval($0 - created_ms) / 1000 } }
}

/// The one lifecycle every credential kind shares: find, roll with overlap, revoke.
///
/// Every change goes through `CredentialChanges.commit` (one transaction with the revision bump that empties
/// every instance's caches, and the audit entry of the scope under way). The changing `UPDATE` applies only
/// while the row is still in the state that was checked (`… AND revoked_ms IS NULL`), so of two requests
/// racing to roll one key exactly one wins and the other is refused with nothing written; two racing
/// revocations record one change.
struct CredentialLifecycle: Sendable {
    let store: KeywardStore
    let changes: CredentialChanges
    let clock: KeywardClock

    /// Stores a new row (a credential made, or a store opened), with its audit entry.
    func create<Row: StoredRow>(_ row: Row) async throws {
        try await changes.commit(in: store, target: row.id) { sql in
            try await sql.insert(into: Row.table).model(row).run()
        }
    }

    /// A merchant's rows in `mode`, newest first: `limit` of them after the row `startingAfter` (see `MerchantPage`).
    func list<Row: MerchantScopedRow>(
        _: Row.Type,
        merchantID: String,
        mode: Mode,
        limit: Int = 1000,
        startingAfter: String? = nil
    ) async throws -> [Row] {
        try await MerchantPage(limit: limit, startingAfter: startingAfter)
            .rows(Row.self, of: Row.table, noun: Row.noun, in: store.sql, merchantID: merchantID, mode: mode) {
                Identifier.isWellFormed($0, prefix: Row.idPrefix)
            }
    }

    /// The row `id` of `merchantID` in `mode`; 404 when it is another merchant's, the other mode's, or no one's.
    func find<Row: MerchantScopedRow>(_: Row.Type, merchantID: String, mode: Mode, id: String) async throws -> Row {
        guard Identifier.isWellFormed(id, prefix: Row.idPrefix),
            let row = try await store.sql.select().column("*").from(Row.table)
                .where("id", .equal, id).where("merchant_id", .equal, merchantID).where("mode", .equal, mode.rawValue)
                .first(decoding: Row.self)
        else { throw KeywardError.notFound(Row.noun, id: id) }
        return row
    }

    /// Revokes `row` at once, on every instance. Revoking a revoked credential changes nothing and returns it
    /// as it is. `alongside` runs in the same transaction with the revocation time (a JWK's sessions end with it).
    /// `target` names the object in the audit entry (the row by default).
    func revoke<Row: RevocableRow>(
        _ row: Row,
        target: String? = nil,
        alongside: (@Sendable (any SQLDatabase, Int64) async throws -> Void)? = nil
    ) async throws -> Row {
        if row.revoked_ms != nil { return row }
        let now = clock.now().millis
        do {
            try await changes.commit(in: store, target: target ?? row.id) { [id = row.id] sql in
                let changed = try await sql.update(Row.table).set("revoked_ms", to: now)
                    .where("id", .equal, id).where("revoked_ms", .is, SQLLiteral.null)
                    .returning("id").all()
                guard !changed.isEmpty else { throw RevokedMeanwhile() }
                try await alongside?(sql, now)
            }
        } catch is RevokedMeanwhile {
            // Another request revoked it between our read and our write: it is revoked, as asked.
            return try await store.sql.select().column("*").from(Row.table).where("id", .equal, row.id).first(decoding: Row.self) ?? row
        }
        var revoked = row
        revoked.revoked_ms = now
        return revoked
    }

    /// Replaces `old` by `replacement` (a new row the caller built: same limits, new secret). The old one
    /// keeps working until `overlap` has passed (or its own expiry, if sooner). Only an active credential is
    /// rolled: a rolled one answers `key_already_rolled` (roll its replacement), an expired or revoked one
    /// `key_inactive`.
    func roll<Row: RollableRow>(_ old: Row, overlap: TimeInterval, into replacement: Row) async throws {
        let now = clock.now()
        try Self.checkRollable(old, at: now)
        let oldExpiry = min(now.addingTimeInterval(overlap).millis, old.expires_ms ?? .max)
        try await changes.commit(in: store, target: replacement.id) { sql in
            try await sql.insert(into: Row.table).model(replacement).run()
            let replaced = try await sql.update(Row.table).set("expires_ms", to: oldExpiry).set("replaced_by", to: replacement.id)
                .where("id", .equal, old.id).where("replaced_by", .is, SQLLiteral.null).where("revoked_ms", .is, SQLLiteral.null)
                .returning("id").all()
            // Another request rolled or revoked it since we checked: nothing of ours is kept.
            guard !replaced.isEmpty else {
                throw KeywardError(
                    .conflict,
                    .keyAlreadyRolled,
                    "\(Row.noun.capitalizedFirst) \(old.id) was rolled or revoked by another request just now; reload it."
                )
            }
        }
    }

    static func checkRollable<Row: RollableRow>(_ old: Row, at now: Date) throws {
        switch old.status(at: now) {
        case .active:
            return
        case .rolling:
            throw KeywardError(
                .conflict,
                .keyAlreadyRolled,
                "\(Row.noun.capitalizedFirst) \(old.id) was already rolled into \(old.replaced_by ?? "another key"); roll that one instead."
            )
        case .expired, .revoked:
            throw KeywardError(
                .conflict,
                .keyInactive,
                "\(Row.noun.capitalizedFirst) \(old.id) is \(old.status(at: now).rawValue) and cannot be rolled; create a new one."
            )
        }
    }
}

/// Thrown inside a revocation's transaction when the row was revoked meanwhile, to write nothing.
private struct RevokedMeanwhile: Error {}

extension String {
    /// The string with its first letter in capitals ("secret key" → "Secret key").
    var capitalizedFirst: String { prefix(1).uppercased() + dropFirst() }
}
