import FluentKit
import SQLKit

/// Sign-in hardening: failure counters keyed by what they throttle (an account and an address, an
/// account on its own, an account's second factor), counted with one atomic upsert each; where a
/// session was opened from (shown on the account page); and the addresses an account signed in from
/// before (a new one is announced).
struct V13SignInThrottles: AsyncMigration {
    var name: String { "v13_sign_in_throttles" }

    func prepare(on database: any Database) async throws {
        try await database.schema("sign_in_throttles")
            .field("subject", .string, .identifier(auto: false))
            .field("failures", .int64, .required)
            .field("locked_until_ms", .int64)
            .field("updated_ms", .int64, .required)
            .create()
        try await database.schema("cabinet_sessions").field("address", .string).update()
        try await database.schema("cabinet_sessions").field("user_agent", .string).update()
        try await database.schema("sign_in_addresses")
            .field("user_id", .string, .required)
            .field("address", .string, .required)
            .field("first_seen_ms", .int64, .required)
            .unique(on: "user_id", "address")
            .create()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("sign_in_addresses").delete()
        try await database.schema("cabinet_sessions").deleteField("user_agent").update()
        try await database.schema("cabinet_sessions").deleteField("address").update()
        try await database.schema("sign_in_throttles").delete()
    }
}
