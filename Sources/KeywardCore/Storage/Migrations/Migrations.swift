import FluentKit
import Foundation
import SQLKit

/// Every schema change, in order. Never edit a shipped migration: add a new one.
enum KeywardMigrations {
    static let all: [any Migration] = [
        V1InitialSchema(), V2SigningKeys(), V3ProviderStores(), V4KeptPrivateKeys(), V5DeviceSessions(), V6Certificates(),
        V7SalesChannels(), V8CertificateRequests(), V9AuditLog(), V10Accounts(), V11MerchantSettings(), V12CredentialLimits(),
        V12DomainVerification(), V13SignInThrottles(), V14LeakReports(), V15RateLimits(), PasskeyCredentials(),
        DeviceSessionFirstUse(),
        MasterKeyAnnouncementsMigration(), AuditCheckpointsMigration(),
    ]
}

/// Merchants, secret API keys, payment keys and the change counter that drives cache invalidation.
///
/// Identifiers are prefixed random strings, timestamps are milliseconds since 1970 as BIGINT and lists
/// are JSON text, so SQLite and PostgreSQL store exactly the same values.
struct V1InitialSchema: AsyncMigration {
    var name: String { "v1_initial_schema" }

    func prepare(on database: any Database) async throws {
        try await database.schema("merchants")
            .field("id", .string, .identifier(auto: false))
            .field("name", .string, .required)
            .field("mid", .string, .required)
            .field("created_ms", .int64, .required)
            .field("updated_ms", .int64, .required)
            .unique(on: "mid")
            .create()

        try await database.schema("secret_keys")
            .field("id", .string, .identifier(auto: false))
            .field("merchant_id", .string, .required, .references("merchants", "id"))
            .field("mode", .string, .required)
            .field("name", .string, .required)
            .field("secret_hash", .string, .required)
            .field("last4", .string, .required)
            .field("permissions", .string)
            .field("allowed_ips", .string, .required)
            .field("expires_ms", .int64)
            .field("revoked_ms", .int64)
            .field("last_used_ms", .int64)
            .field("created_ms", .int64, .required)
            .field("rolled_from", .string)
            .field("replaced_by", .string)
            .unique(on: "secret_hash")
            .create()

        try await database.schema("payment_keys")
            .field("id", .string, .identifier(auto: false))
            .field("merchant_id", .string, .required, .references("merchants", "id"))
            .field("mode", .string, .required)
            .field("label", .string, .required)
            .field("sealed_secret", .string, .required)
            .field("last4", .string, .required)
            .field("expires_ms", .int64)
            .field("revoked_ms", .int64)
            .field("created_ms", .int64, .required)
            .field("replaced_by", .string)
            .create()

        try await database.schema("keyward_revisions")
            .field("name", .string, .identifier(auto: false))
            .field("value", .int64, .required)
            .create()

        guard let sql = database as? any SQLDatabase else { return }
        try await sql.create(index: "secret_keys_by_merchant").on("secret_keys")
            .column("merchant_id").column("mode").column("created_ms").run()
        try await sql.create(index: "payment_keys_by_merchant").on("payment_keys")
            .column("merchant_id").column("mode").column("created_ms").run()
        try await sql.insert(into: "keyward_revisions").columns("name", "value")
            .values(SQLBind(CredentialChanges.revisionName), SQLBind(Int64(0))).run()
    }

    func revert(on database: any Database) async throws {
        for table in ["keyward_revisions", "payment_keys", "secret_keys", "merchants"] {
            try await database.schema(table).delete()
        }
    }
}

/// Public keys merchants register to sign requests (RFC 9421 now; myPOS/AliKassa key indexes next),
/// and the nonces already used, so a replayed signature fails on every instance.
struct V2SigningKeys: AsyncMigration {
    var name: String { "v2_signing_keys" }

    func prepare(on database: any Database) async throws {
        try await database.schema("signing_keys")
            .field("id", .string, .identifier(auto: false))
            .field("merchant_id", .string, .required, .references("merchants", "id"))
            .field("mode", .string, .required)
            .field("name", .string, .required)
            .field("public_key_pem", .string, .required)
            .field("algorithm", .string, .required)
            .field("not_after_ms", .int64)
            .field("created_ms", .int64, .required)
            .field("revoked_ms", .int64)
            .create()
        try await database.schema("signature_nonces")
            .field("key_id", .string, .required)
            .field("nonce", .string, .required)
            .field("expires_ms", .int64, .required)
            .unique(on: "key_id", "nonce")
            .create()
        guard let sql = database as? any SQLDatabase else { return }
        try await sql.create(index: "signing_keys_by_merchant").on("signing_keys").column("merchant_id").column("mode").run()
        try await sql.create(index: "signature_nonces_by_expiry").on("signature_nonces").column("expires_ms").run()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("signature_nonces").delete()
        try await database.schema("signing_keys").delete()
    }
}

/// Provider-dialect stores (myPOS SID + WalletNumber, AliKassa account) and their key indexes: the
/// merchant's public key under each index and the platform key pair Keyward answers with (private
/// key sealed, AAD = the row id).
struct V3ProviderStores: AsyncMigration {
    var name: String { "v3_provider_stores" }

    func prepare(on database: any Database) async throws {
        try await database.schema("stores")
            .field("id", .string, .identifier(auto: false))
            .field("merchant_id", .string, .required, .references("merchants", "id"))
            .field("mode", .string, .required)
            .field("dialect", .string, .required)
            .field("name", .string, .required)
            .field("external_id", .string, .required)
            .field("wallet_number", .string)
            .field("reject_replays", .int64, .required)
            .field("created_ms", .int64, .required)
            .unique(on: "dialect", "external_id")
            .create()
        try await database.schema("store_keys")
            .field("id", .string, .identifier(auto: false))
            .field("store_id", .string, .required, .references("stores", "id"))
            .field("key_index", .int64, .required)
            .field("name", .string, .required)
            .field("public_key_pem", .string, .required)
            .field("algorithm", .string, .required)
            .field("not_after_ms", .int64)
            .field("legacy_sha1", .int64, .required)
            .field("platform_certificate_pem", .string, .required)
            .field("sealed_platform_key", .string, .required)
            .field("created_ms", .int64, .required)
            .field("revoked_ms", .int64)
            .unique(on: "store_id", "key_index")
            .create()
        guard let sql = database as? any SQLDatabase else { return }
        try await sql.create(index: "stores_by_merchant").on("stores").column("merchant_id").column("mode").run()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("store_keys").delete()
        try await database.schema("stores").delete()
    }
}

/// Private keys Keyward generated and was asked to keep (sealed, AAD = the row id), for later export.
struct V4KeptPrivateKeys: AsyncMigration {
    var name: String { "v4_kept_private_keys" }

    func prepare(on database: any Database) async throws {
        try await database.schema("signing_keys").field("sealed_private_key", .string).update()
        try await database.schema("store_keys").field("sealed_private_key", .string).update()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("store_keys").deleteField("sealed_private_key").update()
        try await database.schema("signing_keys").deleteField("sealed_private_key").update()
    }
}

/// Alliance Bank technical sessions: the service code per merchant and mode, merchants' public JWKs,
/// and the sessions (`deviceId`), with the refresh token hashed and the session's server key sealed.
struct V5DeviceSessions: AsyncMigration {
    var name: String { "v5_device_sessions" }

    func prepare(on database: any Database) async throws {
        try await database.schema("service_codes")
            .field("code", .string, .identifier(auto: false))
            .field("merchant_id", .string, .required, .references("merchants", "id"))
            .field("mode", .string, .required)
            .field("created_ms", .int64, .required)
            .unique(on: "merchant_id", "mode")
            .create()
        try await database.schema("jwe_keys")
            .field("id", .string, .identifier(auto: false))
            .field("merchant_id", .string, .required, .references("merchants", "id"))
            .field("mode", .string, .required)
            .field("name", .string, .required)
            .field("kid", .string)
            .field("thumbprint", .string, .required)
            .field("public_jwk", .string, .required)
            .field("algorithm", .string, .required)
            .field("created_ms", .int64, .required)
            .field("revoked_ms", .int64)
            .unique(on: "merchant_id", "mode", "thumbprint")
            .create()
        try await database.schema("device_sessions")
            .field("id", .string, .identifier(auto: false))
            .field("merchant_id", .string, .required, .references("merchants", "id"))
            .field("mode", .string, .required)
            .field("jwe_key_id", .string, .required)
            .field("refresh_hash", .string, .required)
            .field("auth_hash", .string, .required)
            .field("sealed_server_key", .string, .required)
            .field("expires_ms", .int64, .required)
            .field("created_ms", .int64, .required)
            .field("revoked_ms", .int64)
            .create()
        guard let sql = database as? any SQLDatabase else { return }
        try await sql.create(index: "jwe_keys_by_merchant").on("jwe_keys").column("merchant_id").column("mode").run()
        try await sql.create(index: "device_sessions_by_merchant").on("device_sessions").column("merchant_id").column("mode").column("created_ms")
            .run()
    }

    func revert(on database: any Database) async throws {
        for table in ["device_sessions", "jwe_keys", "service_codes"] { try await database.schema(table).delete() }
    }
}
