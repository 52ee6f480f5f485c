import FluentKit
import SQLKit

/// Passkeys (WebAuthn credentials) as a second factor: each user's credentials (the COSE public key as
/// sent, never a secret), the one-time challenges (stored as their SHA-256), and the merchant setting
/// that requires a passkey of roles that can see live keys.
///
/// `credential_id` is unique across users: an authenticator's credential belongs to one account.
struct PasskeyCredentials: AsyncMigration {
    var name: String { "passkey_credentials" }

    func prepare(on database: any Database) async throws {
        try await database.schema("passkeys")
            .field("id", .string, .identifier(auto: false))
            .field("user_id", .string, .required, .references("users", "id"))
            .field("credential_id", .string, .required)
            .field("public_key", .string, .required)
            .field("algorithm", .int64, .required)
            .field("sign_count", .int64, .required)
            .field("name", .string, .required)
            .field("attestation_format", .string, .required)
            .field("user_verified", .int64, .required)
            .field("created_ms", .int64, .required)
            .field("last_used_ms", .int64)
            .unique(on: "credential_id")
            .create()
        try await database.schema("passkey_challenges")
            .field("id", .string, .identifier(auto: false))
            .field("user_id", .string, .required, .references("users", "id"))
            .field("purpose", .string, .required)
            .field("expires_ms", .int64, .required)
            .create()
        // Nullable: rows from before mean "not required".
        try await database.schema("merchant_settings").field("passkeys_required", .int64).update()
        guard let sql = database as? any SQLDatabase else { return }
        try await sql.create(index: "passkeys_by_user").on("passkeys").column("user_id").run()
        try await sql.create(index: "passkey_challenges_by_expiry").on("passkey_challenges").column("expires_ms").run()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("merchant_settings").deleteField("passkeys_required").update()
        try await database.schema("passkey_challenges").delete()
        try await database.schema("passkeys").delete()
    }
}
