import FluentKit
import SQLKit

/// When a technical session was first used. `authorize_virtual_device` needs no credential, so sessions
/// nobody ever used (the caller could not decrypt the answer) are what a flood leaves behind: they are
/// pruned early and do not count against the merchant's cap.
struct DeviceSessionFirstUse: AsyncMigration {
    var name: String { "device_session_first_use" }

    func prepare(on database: any Database) async throws {
        // Nullable: sessions from before count as used (their owners may still hold them).
        try await database.schema("device_sessions").field("first_used_ms", .int64).update()
        guard let sql = database as? any SQLDatabase else { return }
        try await sql.create(index: "device_sessions_by_expiry").on("device_sessions").column("expires_ms").run()
        try await sql.update("device_sessions").set("first_used_ms", to: SQLColumn("created_ms")).run()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("device_sessions").deleteField("first_used_ms").update()
    }
}
