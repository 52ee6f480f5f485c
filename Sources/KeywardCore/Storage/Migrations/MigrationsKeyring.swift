import FluentKit
import SQLKit

/// Master keys announced by a running rotation, so every instance adopts the new key without a restart.
///
/// A row holds the new key sealed under the key that was primary when the rotation began (the
/// envelope names that key's id, context `master_key:<new id>`): only an instance that already holds
/// the old key can read it. The rotation deletes its row once every secret is re-sealed and the key
/// files are swapped, so the old key alone no longer leads to the new one.
struct MasterKeyAnnouncementsMigration: AsyncMigration {
    var name: String { "master_key_announcements" }

    func prepare(on database: any Database) async throws {
        try await database.schema("master_key_announcements")
            .field("key_id", .string, .identifier(auto: false))
            .field("wrapped_key", .string, .required)
            .field("announced_ms", .int64, .required)
            .create()
        guard let sql = database as? any SQLDatabase else { return }
        try await sql.insert(into: "keyward_revisions").columns("name", "value")
            .values(SQLBind(MasterKeyAnnouncements.revisionName), SQLBind(Int64(0))).run()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("master_key_announcements").delete()
        guard let sql = database as? any SQLDatabase else { return }
        try await sql.delete(from: "keyward_revisions").where("name", .equal, MasterKeyAnnouncements.revisionName).run()
    }
}

/// Keyed checkpoints of the audit chain (see `AuditCheckpoint`): the hash of every Nth entry with an
/// HMAC under a key derived from the master key, so a chain rewritten or cut short from the database
/// alone no longer verifies.
struct AuditCheckpointsMigration: AsyncMigration {
    var name: String { "audit_checkpoints" }

    func prepare(on database: any Database) async throws {
        try await database.schema("audit_checkpoints")
            .field("seq", .int64, .identifier(auto: false))
            .field("hash", .string, .required)
            .field("key_id", .string, .required)
            .field("mac", .string, .required)
            .field("at_ms", .int64, .required)
            .create()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("audit_checkpoints").delete()
    }
}
