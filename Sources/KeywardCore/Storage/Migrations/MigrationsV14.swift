import FluentKit
import SQLKit

/// Leaked keys: every place a secret scanner found one of a merchant's keys (never the key: the SHA-256
/// of the token as reported), and the merchant's choice of a short overlap for leaked test keys.
///
/// `(key_id, location_hash)` is unique, so a replayed report, or two scanners racing on the same find,
/// records (and notifies) one leak.
struct V14LeakReports: AsyncMigration {
    var name: String { "v14_leak_reports" }

    func prepare(on database: any Database) async throws {
        try await database.schema("leak_reports")
            .field("id", .string, .identifier(auto: false))
            .field("merchant_id", .string, .required, .references("merchants", "id"))
            .field("mode", .string, .required)
            .field("key_id", .string, .required, .references("secret_keys", "id"))
            .field("token_hash", .string, .required)
            .field("token_type", .string, .required)
            .field("source", .string, .required)
            .field("url", .string, .required)
            .field("location_hash", .string, .required)
            .field("scanner", .string, .required)
            .field("action", .string, .required)
            .field("expires_ms", .int64)
            .field("reported_ms", .int64, .required)
            .unique(on: "key_id", "location_hash")
            .create()
        // Nullable: rows from before mean 0 (revoke a leaked test key at once).
        try await database.schema("merchant_settings").field("leaked_test_key_grace_seconds", .int64).update()
        guard let sql = database as? any SQLDatabase else { return }
        try await sql.create(index: "leak_reports_by_merchant").on("leak_reports").column("merchant_id").column("reported_ms").run()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("merchant_settings").deleteField("leaked_test_key_grace_seconds").update()
        try await database.schema("leak_reports").delete()
    }
}
