import Crypto
import Foundation
import HummingbirdBcrypt
import KeywardCrypto
import SQLKit

/// Cabinet users: one-time setup links, passwords, login throttling with lockout, and TOTP second factor
/// with recovery codes.
public struct AccountService: Sendable {
    let store: KeywardStore
    let keyring: MasterKeyring
    let clock: KeywardClock
    let hasher: PasswordHasher

    /// Failures allowed before the account locks; the lock lasts 1 min, doubling per further failure, at most 1 h.
    public static let failuresBeforeLock = 5
    public static let setupLinkLifetime: TimeInterval = 72 * 3600
    public static let resetLinkLifetime: TimeInterval = 3600

    public init(store: KeywardStore, keyring: MasterKeyring, clock: KeywardClock = .system, hasher: PasswordHasher = PasswordHasher()) {
        self.store = store
        self.keyring = keyring
        self.clock = clock
        self.hasher = hasher
    }

    static func normalize(email: String) throws(KeywardError) -> String {
        let email = email.trimmingCharacters(in: .whitespaces).lowercased()
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard email.utf8.count <= 254, parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !email.contains(where: { $0.isWhitespace || $0 == "<" || $0 == ">" }) else {
            throw .invalid("invalid_email", "'\(email.prefix(80))' is not an email address.", field: "email")
        }
        return email
    }

    func row(id: String) async throws -> UserRow {
        guard let row = try await store.sql.select().column("*").from("users").where("id", .equal, id).first(decoding: UserRow.self) else {
            throw KeywardError.notFound("user", id: id, scoped: false)
        }
        return row
    }

    func row(email: String) async throws -> UserRow? {
        try await store.sql.select().column("*").from("users").where("email", .equal, email).first(decoding: UserRow.self)
    }

    public func get(id: String) async throws -> UserInfo { try await row(id: id).info }

    /// The user with `email`, created (without a password) if new.
    func findOrCreate(email: String, on sql: any SQLDatabase) async throws -> UserRow {
        if let existing = try await sql.select().column("*").from("users").where("email", .equal, email).first(decoding: UserRow.self) { return existing }
        let row = UserRow(id: Identifier.make("usr"), email: email, password_hash: nil, sealed_totp_secret: nil, totp_enabled: 0, totp_last_step: nil,
                          recovery_codes: "[]", failed_logins: 0, locked_until_ms: nil, created_ms: clock.now().millis)
        try await sql.insert(into: "users").model(row).run()
        return row
    }

    func issueToken(_ sql: any SQLDatabase, purpose: String, email: String, userID: String?, merchantID: String?, role: String?, lifetime: TimeInterval) async throws -> OneTimeToken {
        let token = TokenHash.make(prefix: "kwt_")
        let expires = clock.now().addingTimeInterval(lifetime)
        try await sql.insert(into: "account_tokens").columns("id", "purpose", "email", "user_id", "merchant_id", "role", "expires_ms", "created_ms")
            .values(SQLBind(TokenHash.of(token)), SQLBind(purpose), SQLBind(email), SQLBind(userID), SQLBind(merchantID), SQLBind(role),
                    SQLBind(expires.millis), SQLBind(clock.now().millis)).run()
        return OneTimeToken(token: token, purpose: purpose, expiresAt: expires)
    }

    struct TokenRow: Decodable {
        let id: String; let purpose: String; let email: String; let user_id: String?; let merchant_id: String?; let role: String?
        let expires_ms: Int64; let used_ms: Int64?
    }

    /// Marks a one-time token used and returns it; refuses unknown, used, expired or other-purpose tokens alike.
    func redeem(_ token: String, purpose: String, on sql: any SQLDatabase) async throws -> TokenRow {
        let refusal = KeywardError(.invalidInput, "invalid_link", "This link is not valid: it was used already, has expired, or was mistyped. Ask for a new one.")
        guard token.utf8.count <= 100, let row = try await sql.select().column("*").from("account_tokens").where("id", .equal, TokenHash.of(token))
            .first(decoding: TokenRow.self), row.purpose == purpose, row.used_ms == nil, row.expires_ms > clock.now().millis else { throw refusal }
        // The conditional UPDATE decides: of two requests racing with one link, only the one whose UPDATE
        // matched the unused row may go on.
        let claimed = try await sql.update("account_tokens").set("used_ms", to: clock.now().millis).where("id", .equal, row.id)
            .where("used_ms", .is, SQLLiteral.null).returning("id").all()
        guard claimed.count == 1 else { throw refusal }
        return row
    }

    /// Sets the password of the account a setup (or reset) link belongs to, and ends its other sessions on reset.
    public func setPassword(token: String, purpose: String = "setup", password: String) async throws -> UserInfo {
        try PasswordHasher.check(password)
        let hash = await hasher.hash(password)
        return try await store.transaction { sql in
            let redeemed = try await redeem(token, purpose: purpose, on: sql)
            let user = try await findOrCreate(email: redeemed.email, on: sql)
            try await sql.update("users").set("password_hash", to: hash).set("failed_logins", to: Int64(0)).set("locked_until_ms", to: SQLLiteral.null)
                .where("id", .equal, user.id).run()
            if purpose == "reset" { try await sql.delete(from: "cabinet_sessions").where("user_id", .equal, user.id).run() }
            return UserInfo(id: user.id, email: user.email, hasPassword: true, totpEnabled: user.totp_enabled != 0, createdAt: Date(millis: user.created_ms))
        }
    }

    /// A password-reset link for `email`, or nil when there is no such user (callers answer the same either way).
    public func requestPasswordReset(email: String) async throws -> OneTimeToken? {
        guard let email = try? Self.normalize(email: email), let user = try await row(email: email), user.password_hash != nil else { return nil }
        return try await issueToken(store.sql, purpose: "reset", email: email, userID: user.id, merchantID: nil, role: nil, lifetime: Self.resetLinkLifetime)
    }

    /// Checks email and password. Wrong pairs (and unknown emails, after the same bcrypt work) answer
    /// `invalid_credentials`; after five failures in a row the account is locked with a backoff.
    public func login(email: String, password: String) async throws -> UserInfo {
        let refusal = KeywardError(.unauthenticated, "invalid_credentials", "Wrong email or password.")
        guard let email = try? Self.normalize(email: email), let user = try await row(email: email), let hash = user.password_hash else {
            _ = await hasher.verify(password, hash: Self.decoyHash)
            throw refusal
        }
        let now = clock.now()
        if let locked = user.locked_until_ms, locked > now.millis {
            throw KeywardError(.forbidden, "login_locked", "Too many failed logins: try again after \(ISO8601DateFormatter().string(from: Date(millis: locked))), or reset the password.")
        }
        guard await hasher.verify(password, hash: hash) else {
            let failures = user.failed_logins + 1
            var update = store.sql.update("users").set("failed_logins", to: failures)
            if failures >= Self.failuresBeforeLock {
                let lock = min(60 * pow(2, Double(failures - Int64(Self.failuresBeforeLock))), 3600)
                update = update.set("locked_until_ms", to: now.addingTimeInterval(lock).millis)
            }
            try await update.where("id", .equal, user.id).run()
            throw refusal
        }
        try await store.sql.update("users").set("failed_logins", to: Int64(0)).set("locked_until_ms", to: SQLLiteral.null).where("id", .equal, user.id).run()
        return user.info
    }

    /// A bcrypt hash (cost 12, like real ones in production) of a random string, made once on first use,
    /// so an unknown email costs the same time as a known one with a wrong password.
    static let decoyHash = Bcrypt.hash(TokenHash.make(prefix: ""), cost: 12)
}
