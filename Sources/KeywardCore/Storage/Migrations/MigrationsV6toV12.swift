import FluentKit
import Foundation
import SQLKit

/// Uploaded certificates: the leaf and its ordered chain (PEM), what listings show, and the private key
/// sealed (AAD = the row id).
struct V6Certificates: AsyncMigration {
    var name: String { "v6_certificates" }

    func prepare(on database: any Database) async throws {
        try await database.schema("certificates")
            .field("id", .string, .identifier(auto: false))
            .field("merchant_id", .string, .required, .references("merchants", "id"))
            .field("mode", .string, .required)
            .field("type", .string, .required)
            .field("name", .string, .required)
            .field("subject", .string, .required)
            .field("issuer", .string, .required)
            .field("serial", .string, .required)
            .field("names", .string, .required)
            .field("key_type", .string, .required)
            .field("fingerprint", .string, .required)
            .field("not_before_ms", .int64, .required)
            .field("not_after_ms", .int64, .required)
            .field("certificate_pem", .string, .required)
            .field("chain_pem", .string, .required)
            .field("sealed_private_key", .string)
            .field("created_ms", .int64, .required)
            .create()
        guard let sql = database as? any SQLDatabase else { return }
        try await sql.create(index: "certificates_by_merchant").on("certificates").column("merchant_id").column("mode").column("not_after_ms").run()
        try await sql.create(index: "certificates_by_expiry").on("certificates").column("not_after_ms").run()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("certificates").delete()
    }
}

/// Sales channels and what managing their certificates needs: domains (each claimed by one channel),
/// ACME accounts (key sealed), pending HTTP-01 answers, each channel's event history, merchant webhooks
/// and their delivery outbox, Apple Pay domain-association files, and on certificates where they came
/// from and the last expiry state a webhook announced.
struct V7SalesChannels: AsyncMigration {
    var name: String { "v7_sales_channels" }

    func prepare(on database: any Database) async throws {
        try await database.schema("sales_channels")
            .field("id", .string, .identifier(auto: false))
            .field("merchant_id", .string, .required, .references("merchants", "id"))
            .field("mode", .string, .required)
            .field("name", .string, .required)
            .field("domains", .string, .required)
            .field("ssl_mode", .string, .required)
            .field("certificate_id", .string)
            .field("status", .string, .required)
            .field("status_detail", .string, .required)
            .field("failures", .int64, .required)
            .field("next_attempt_ms", .int64)
            .field("renew_at_ms", .int64)
            .field("created_ms", .int64, .required)
            .field("updated_ms", .int64, .required)
            .create()
        try await database.schema("channel_domains")
            .field("domain", .string, .identifier(auto: false))
            .field("channel_id", .string, .required, .references("sales_channels", "id"))
            .field("merchant_id", .string, .required)
            .create()
        try await database.schema("channel_events")
            .field("id", .string, .identifier(auto: false))
            .field("channel_id", .string, .required)
            .field("merchant_id", .string, .required)
            .field("at_ms", .int64, .required)
            .field("kind", .string, .required)
            .field("message", .string, .required)
            .create()
        try await database.schema("acme_accounts")
            .field("id", .string, .identifier(auto: false))
            .field("directory_url", .string, .required)
            .field("account_url", .string)
            .field("sealed_private_key", .string, .required)
            .field("created_ms", .int64, .required)
            .unique(on: "directory_url")
            .create()
        try await database.schema("acme_challenges")
            .field("token", .string, .identifier(auto: false))
            .field("key_authorization", .string, .required)
            .field("expires_ms", .int64, .required)
            .create()
        try await database.schema("webhook_endpoints")
            .field("id", .string, .identifier(auto: false))
            .field("merchant_id", .string, .required, .references("merchants", "id"))
            .field("url", .string, .required)
            .field("sealed_secret", .string, .required)
            .field("created_ms", .int64, .required)
            .unique(on: "merchant_id")
            .create()
        try await database.schema("webhook_deliveries")
            .field("id", .string, .identifier(auto: false))
            .field("merchant_id", .string, .required)
            .field("event_type", .string, .required)
            .field("payload", .string, .required)
            .field("status", .string, .required)
            .field("attempts", .int64, .required)
            .field("next_attempt_ms", .int64, .required)
            .field("last_error", .string)
            .field("created_ms", .int64, .required)
            .create()
        try await database.schema("domain_associations")
            .field("merchant_id", .string, .identifier(auto: false))
            .field("content", .string, .required)
            .field("updated_ms", .int64, .required)
            .create()
        // One column per ALTER: SQLite adds a single column at a time.
        try await database.schema("certificates").field("source", .string, .required, .sql(.default("uploaded"))).update()
        try await database.schema("certificates").field("alerted_status", .string).update()
        guard let sql = database as? any SQLDatabase else { return }
        try await sql.create(index: "sales_channels_by_merchant").on("sales_channels").column("merchant_id").column("mode").run()
        try await sql.create(index: "sales_channels_due").on("sales_channels").column("next_attempt_ms").run()
        try await sql.create(index: "channel_events_by_channel").on("channel_events").column("channel_id").column("at_ms").run()
        try await sql.create(index: "webhook_deliveries_due").on("webhook_deliveries").column("status").column("next_attempt_ms").run()
    }

    func revert(on database: any Database) async throws {
        for table in [
            "domain_associations", "webhook_deliveries", "webhook_endpoints", "acme_challenges", "acme_accounts",
            "channel_events", "channel_domains", "sales_channels",
        ] {
            try await database.schema(table).delete()
        }
        try await database.schema("certificates").deleteField("alerted_status").update()
        try await database.schema("certificates").deleteField("source").update()
    }
}

/// Apple Pay certificate requests: the key Keyward generated for the CSR (sealed, AAD = the row id)
/// until Apple's certificate for it comes back.
struct V8CertificateRequests: AsyncMigration {
    var name: String { "v8_certificate_requests" }

    func prepare(on database: any Database) async throws {
        try await database.schema("certificate_requests")
            .field("id", .string, .identifier(auto: false))
            .field("merchant_id", .string, .required, .references("merchants", "id"))
            .field("mode", .string, .required)
            .field("type", .string, .required)
            .field("name", .string, .required)
            .field("key_type", .string, .required)
            .field("csr_pem", .string, .required)
            .field("sealed_private_key", .string, .required)
            .field("certificate_id", .string)
            .field("created_ms", .int64, .required)
            .create()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("certificate_requests").delete()
    }
}

/// The hash-chained audit log; `seq` is unique so concurrent appends cannot fork the chain.
struct V9AuditLog: AsyncMigration {
    var name: String { "v9_audit_log" }

    func prepare(on database: any Database) async throws {
        try await database.schema("audit_log")
            .field("seq", .int64, .identifier(auto: false))
            .field("id", .string, .required)
            .field("at_ms", .int64, .required)
            .field("merchant_id", .string)
            .field("actor_type", .string, .required)
            .field("actor_id", .string, .required)
            .field("address", .string)
            .field("action", .string, .required)
            .field("target_id", .string)
            .field("outcome", .string, .required)
            .field("previous_hash", .string, .required)
            .field("hash", .string, .required)
            .create()
        guard let sql = database as? any SQLDatabase else { return }
        try await sql.create(index: "audit_log_by_merchant").on("audit_log").column("merchant_id").column("seq").run()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("audit_log").delete()
    }
}

/// Cabinet accounts: users (bcrypt password hash, TOTP secret sealed, recovery codes hashed, lockout
/// counters), custom roles, memberships, one-time tokens (setup, reset, invitation; hashed), and
/// server-side sessions (id hashed).
struct V10Accounts: AsyncMigration {
    var name: String { "v10_accounts" }

    func prepare(on database: any Database) async throws {
        try await database.schema("users")
            .field("id", .string, .identifier(auto: false))
            .field("email", .string, .required)
            .field("password_hash", .string)
            .field("sealed_totp_secret", .string)
            .field("totp_enabled", .int64, .required)
            .field("totp_last_step", .int64)
            .field("recovery_codes", .string, .required)
            .field("failed_logins", .int64, .required)
            .field("locked_until_ms", .int64)
            .field("created_ms", .int64, .required)
            .unique(on: "email")
            .create()
        try await database.schema("custom_roles")
            .field("id", .string, .identifier(auto: false))
            .field("merchant_id", .string, .required, .references("merchants", "id"))
            .field("name", .string, .required)
            .field("permissions", .string, .required)
            .field("created_ms", .int64, .required)
            .create()
        try await database.schema("memberships")
            .field("id", .string, .identifier(auto: false))
            .field("user_id", .string, .required, .references("users", "id"))
            .field("merchant_id", .string, .required, .references("merchants", "id"))
            .field("role", .string, .required)
            .field("created_ms", .int64, .required)
            .unique(on: "user_id", "merchant_id")
            .create()
        try await database.schema("account_tokens")
            .field("id", .string, .identifier(auto: false))
            .field("purpose", .string, .required)
            .field("email", .string, .required)
            .field("user_id", .string)
            .field("merchant_id", .string)
            .field("role", .string)
            .field("expires_ms", .int64, .required)
            .field("used_ms", .int64)
            .field("created_ms", .int64, .required)
            .create()
        try await database.schema("cabinet_sessions")
            .field("id", .string, .identifier(auto: false))
            .field("user_id", .string, .required, .references("users", "id"))
            .field("merchant_id", .string, .required)
            .field("csrf_token", .string, .required)
            .field("second_factor", .int64, .required)
            .field("created_ms", .int64, .required)
            .field("expires_ms", .int64, .required)
            .field("last_seen_ms", .int64, .required)
            .create()
        guard let sql = database as? any SQLDatabase else { return }
        try await sql.create(index: "memberships_by_merchant").on("memberships").column("merchant_id").run()
        try await sql.create(index: "cabinet_sessions_by_user").on("cabinet_sessions").column("user_id").run()
    }

    func revert(on database: any Database) async throws {
        for table in ["cabinet_sessions", "account_tokens", "memberships", "custom_roles", "users"] { try await database.schema(table).delete() }
    }
}

/// Merchant settings: the rotation period of keys and a merchant-wide IP allowlist for API keys.
struct V11MerchantSettings: AsyncMigration {
    var name: String { "v11_merchant_settings" }

    func prepare(on database: any Database) async throws {
        try await database.schema("merchant_settings")
            .field("merchant_id", .string, .identifier(auto: false), .references("merchants", "id"))
            .field("rotation_days", .int64, .required)
            .field("allowed_ips", .string, .required)
            .field("updated_ms", .int64, .required)
            .create()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("merchant_settings").delete()
    }
}

/// Domain verification: one record per merchant and domain (token, status, checks), at most one
/// merchant verified per domain (a partial unique index, so two merchants racing to verify cannot
/// both win); HTTP-01 answers remember the domain they were made for; and channel domains become one
/// claim per merchant and domain (was: per domain), so an unverified claim cannot block the owner.
/// Existing claims get pending records: they serve again once verified (or vouched for by an operator).
struct V12DomainVerification: AsyncMigration {
    var name: String { "v12_domain_verification" }

    func prepare(on database: any Database) async throws {
        try await database.schema("domain_verifications")
            .field("id", .string, .identifier(auto: false))
            .field("merchant_id", .string, .required, .references("merchants", "id"))
            .field("domain", .string, .required)
            .field("token", .string, .required)
            .field("status", .string, .required)
            .field("method", .string)
            .field("failures", .int64, .required)
            .field("first_failure_ms", .int64)
            .field("last_error", .string)
            .field("last_checked_ms", .int64)
            .field("next_check_ms", .int64)
            .field("verified_ms", .int64)
            .field("created_ms", .int64, .required)
            .field("updated_ms", .int64, .required)
            .unique(on: "merchant_id", "domain")
            .create()
        try await database.schema("acme_challenges").field("domain", .string).update()
        try await database.schema("channel_domain_claims")
            .field("domain", .string, .required)
            .field("channel_id", .string, .required, .references("sales_channels", "id"))
            .field("merchant_id", .string, .required)
            .compositeIdentifier(over: "domain", "merchant_id")
            .create()
        guard let sql = database as? any SQLDatabase else { return }
        try await sql.raw("CREATE UNIQUE INDEX domain_verifications_one_verified ON domain_verifications (domain) WHERE status = 'verified'").run()
        try await sql.create(index: "domain_verifications_due").on("domain_verifications").column("next_check_ms").run()
        try await sql.raw(
            "INSERT INTO channel_domain_claims (domain, channel_id, merchant_id) SELECT domain, channel_id, merchant_id FROM channel_domains"
        ).run()
        try await sql.raw("DROP TABLE channel_domains").run()
        try await sql.raw("ALTER TABLE channel_domain_claims RENAME TO channel_domains").run()
        try await sql.create(index: "channel_domains_by_channel").on("channel_domains").column("channel_id").run()
        struct Claim: Decodable {
            let domain: String
            let merchant_id: String
        }
        let now = Date()
        for claim in try await sql.select().column("domain").column("merchant_id").from("channel_domains").all(decoding: Claim.self) {
            try await sql.insert(into: "domain_verifications").model(
                DomainVerificationRow.pending(merchantID: claim.merchant_id, domain: claim.domain, now: now)
            ).run()
        }
        // Managed channels wait for their domains instead of being ordered.
        try await sql.update("sales_channels").set("status", to: "pending").set("status_detail", to: "Waiting for domain verification.")
            .set("next_attempt_ms", to: Int64?.none).where("ssl_mode", .equal, "managed").run()
        try await sql.update("sales_channels").set("status", to: "pending").set("status_detail", to: "Waiting for domain verification.")
            .where("ssl_mode", .equal, "uploaded").run()
    }

    func revert(on database: any Database) async throws {
        guard let sql = database as? any SQLDatabase else { return }
        try await database.schema("channel_domain_claims")
            .field("domain", .string, .identifier(auto: false))
            .field("channel_id", .string, .required, .references("sales_channels", "id"))
            .field("merchant_id", .string, .required)
            .create()
        // One claim per domain again: the oldest channel keeps it.
        try await sql.raw(
            """
            INSERT INTO channel_domain_claims (domain, channel_id, merchant_id) SELECT d.domain, d.channel_id, d.merchant_id FROM channel_domains d
            JOIN sales_channels s ON s.id = d.channel_id
            WHERE s.created_ms = (SELECT MIN(s2.created_ms) FROM channel_domains d2 JOIN sales_channels s2 ON s2.id = d2.channel_id WHERE d2.domain = d.domain)
            """
        ).run()
        try await sql.raw("DROP TABLE channel_domains").run()
        try await sql.raw("ALTER TABLE channel_domain_claims RENAME TO channel_domains").run()
        try await database.schema("acme_challenges").deleteField("domain").update()
        try await database.schema("domain_verifications").delete()
    }
}
