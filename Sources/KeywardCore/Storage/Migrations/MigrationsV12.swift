import FluentKit

/// Every credential records the limits it was made with (permissions, IP allowlist, expiry), so a
/// credential made by a restricted key is restricted too; audit entries record their mode, so a test
/// key reads test-mode entries only. All columns are nullable: rows from before mean "unrestricted"
/// and "merchant-wide" (visible to live keys only).
struct V12CredentialLimits: AsyncMigration {
    var name: String { "v12_credential_limits" }

    static let credentialTables = ["signing_keys", "store_keys", "jwe_keys"]

    func prepare(on database: any Database) async throws {
        // One column per ALTER: SQLite adds columns one at a time.
        for table in Self.credentialTables {
            try await database.schema(table).field("permissions", .string).update()
            try await database.schema(table).field("allowed_ips", .string).update()
            try await database.schema(table).field("expires_ms", .int64).update()
        }
        try await database.schema("audit_log").field("mode", .string).update()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("audit_log").deleteField("mode").update()
        for table in Self.credentialTables {
            for field: FieldKey in ["expires_ms", "allowed_ips", "permissions"] { try await database.schema(table).deleteField(field).update() }
        }
    }
}
