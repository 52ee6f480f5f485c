import FluentKit
import SQLKit

/// Rate limits: what each merchant set (`rate_limits`: the merchant-wide limit of a mode, or one
/// credential's own) and the shared request counts of the current windows (`rate_windows`, one row per
/// bucket and window, added to atomically by every instance and pruned a minute after the window ends).
struct V15RateLimits: AsyncMigration {
    var name: String { "v15_rate_limits" }

    func prepare(on database: any Database) async throws {
        try await database.schema("rate_limits")
            .field("merchant_id", .string, .required, .references("merchants", "id"))
            .field("subject", .string, .required)
            .field("mode", .string, .required)
            .field("quota", .int64, .required)
            .field("window_seconds", .int64, .required)
            .field("updated_ms", .int64, .required)
            .unique(on: "merchant_id", "subject", "mode")
            .create()
        guard let sql = database as? any SQLDatabase else { return }
        // A composite primary key: the upsert of every claim conflicts on exactly (bucket, window_index).
        try await sql.raw(
            """
            CREATE TABLE rate_windows (bucket TEXT NOT NULL, window_index BIGINT NOT NULL, used BIGINT NOT NULL,
            expires_ms BIGINT NOT NULL, PRIMARY KEY (bucket, window_index))
            """
        ).run()
        try await sql.create(index: "rate_windows_by_expiry").on("rate_windows").column("expires_ms").run()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("rate_windows").delete()
        try await database.schema("rate_limits").delete()
    }
}
