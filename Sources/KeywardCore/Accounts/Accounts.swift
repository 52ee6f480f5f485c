import Crypto
import Foundation
import HummingbirdBcrypt
import KeywardCrypto
import SQLKit
import Synchronization

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
        guard email.utf8.count <= 254, parts.count == 2, !parts[0].isEmpty, parts[1].contains("."),
            !email.contains(where: { $0.isWhitespace || $0 == "<" || $0 == ">" })
        else {
            throw .invalid(.invalidEmail, "'\(email.prefix(80))' is not an email address.", field: "email")
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

    func get(id: String, on sql: any SQLDatabase) async throws -> UserInfo {
        guard let row = try await sql.select().column("*").from("users").where("id", .equal, id).first(decoding: UserRow.self) else {
            throw KeywardError.notFound("user", id: id, scoped: false)
        }
        return row.info
    }

    /// The user with `email`, created (without a password) if new.
    func findOrCreate(email: String, on sql: any SQLDatabase) async throws -> UserRow {
        if let existing = try await sql.select().column("*").from("users").where("email", .equal, email).first(decoding: UserRow.self) {
            return existing
        }
        let row = UserRow(
            id: Identifier.make("usr"),
            email: email,
            password_hash: nil,
            sealed_totp_secret: nil,
            totp_enabled: 0,
            totp_last_step: nil,
            recovery_codes: "[]",
            failed_logins: 0,
            locked_until_ms: nil,
            created_ms: clock.now().millis
        )
        try await sql.insert(into: "users").model(row).run()
        return row
    }

    func issueToken(
        _ sql: any SQLDatabase,
        purpose: String,
        email: String,
        userID: String?,
        merchantID: String?,
        role: String?,
        lifetime: TimeInterval
    ) async throws -> OneTimeToken {
        let token = TokenHash.make(prefix: "kwt_")
        let expires = clock.now().addingTimeInterval(lifetime)
        try await sql.insert(into: "account_tokens").columns("id", "purpose", "email", "user_id", "merchant_id", "role", "expires_ms", "created_ms")
            .values(
                SQLBind(TokenHash.of(token)),
                SQLBind(purpose),
                SQLBind(email),
                SQLBind(userID),
                SQLBind(merchantID),
                SQLBind(role),
                SQLBind(expires.millis),
                SQLBind(clock.now().millis)
            ).run()
        return OneTimeToken(token: token, purpose: purpose, expiresAt: expires)
    }

    struct TokenRow: Decodable {
        let id: String
        let purpose: String
        let email: String
        let user_id: String?
        let merchant_id: String?
        let role: String?
        let expires_ms: Int64
        let used_ms: Int64?
    }

    /// Marks a one-time token used and returns it; refuses unknown, used, expired or other-purpose tokens alike.
    func redeem(_ token: String, purpose: String, on sql: any SQLDatabase) async throws -> TokenRow {
        let refusal = KeywardError(
            .invalidInput,
            .invalidLink,
            "This link is not valid: it was used already, has expired, or was mistyped. Ask for a new one."
        )
        guard token.utf8.count <= 100,
            let row = try await sql.select().column("*").from("account_tokens").where("id", .equal, TokenHash.of(token))
                .first(decoding: TokenRow.self), row.purpose == purpose, row.used_ms == nil, row.expires_ms > clock.now().millis
        else { throw refusal }
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
        let hash = try await hasher.hash(password)
        return try await store.transaction { sql in
            let redeemed = try await redeem(token, purpose: purpose, on: sql)
            let user = try await findOrCreate(email: redeemed.email, on: sql)
            try await sql.update("users").set("password_hash", to: hash).set("failed_logins", to: Int64(0)).set(
                "locked_until_ms",
                to: SQLLiteral.null
            )
            .where("id", .equal, user.id).run()
            if purpose == "reset" { try await sql.delete(from: "cabinet_sessions").where("user_id", .equal, user.id).run() }
            return UserInfo(
                id: user.id,
                email: user.email,
                hasPassword: true,
                totpEnabled: user.totp_enabled != 0,
                createdAt: Date(millis: user.created_ms)
            )
        }
    }

    /// A password-reset link for `email`, or nil when there is no such user (callers answer the same either way).
    public func requestPasswordReset(email: String) async throws -> OneTimeToken? {
        guard let email = try? Self.normalize(email: email), let user = try await row(email: email), user.password_hash != nil else { return nil }
        return try await issueToken(
            store.sql,
            purpose: "reset",
            email: email,
            userID: user.id,
            merchantID: nil,
            role: nil,
            lifetime: Self.resetLinkLifetime
        )
    }

    /// Failures of one account from one address before that pair locks: 1 min, doubling per further
    /// failure, at most 1 h. An attacker's address locks itself, not the owner's.
    static let pairPolicy = FailureThrottle.Policy(threshold: Int64(failuresBeforeLock), firstLock: 60, maximum: 3600, memory: 24 * 3600)
    /// The ceiling for one account from every address together (a guessing botnet): 15 min, doubling, at most 1 h.
    static let accountPolicy = FailureThrottle.Policy(threshold: 50, firstLock: 900, maximum: 3600, memory: 24 * 3600)

    var throttle: FailureThrottle { FailureThrottle(store: store, clock: clock) }

    /// Checks email and password for a caller at `address`. Unknown emails take the same path as known
    /// ones (the same bcrypt work at the configured cost, the same counters, the same answers), so
    /// neither the answer nor its timing tells which emails have accounts. Wrong pairs answer
    /// `invalid_credentials`; an (email, address) pair that failed five times, or an email that failed
    /// fifty times from anywhere, answers `login_locked` until its backoff ends. Every failure counts,
    /// however many arrive at once.
    public func login(email rawEmail: String, password: String, address: String) async throws -> UserInfo {
        let refusal = KeywardError(.unauthenticated, .invalidCredentials, "Wrong email or password.")
        let email = (try? Self.normalize(email: rawEmail)) ?? rawEmail.lowercased()
        let pair = FailureThrottle.subject("password", email, address)
        let account = FailureThrottle.subject("password", email)
        let locks = [try await throttle.lockedUntil(pair), try await throttle.lockedUntil(account)].compactMap { $0 }
        if let until = locks.max() {
            throw KeywardError(
                .forbidden,
                .loginLocked,
                "Too many failed sign-ins: try again after \(ISO8601DateFormatter().string(from: until)), or reset the password."
            )
        }
        let user = try await row(email: email)
        let verified = try await hasher.verify(password, hash: user?.password_hash ?? decoyHash)
        guard verified, let user, user.password_hash != nil else {
            try await throttle.fail(pair, policy: Self.pairPolicy)
            try await throttle.fail(account, policy: Self.accountPolicy)
            throw refusal
        }
        try await throttle.reset(pair)
        return user.info
    }

    /// A bcrypt hash of a random string at the configured cost (real hashes are made at that cost), made
    /// once per cost, so an unknown email costs the same time as a known one with a wrong password.
    var decoyHash: String { Self.decoys.hash(cost: hasher.cost) }
    /// The bcrypt cost of the decoy (it must equal the cost real hashes are made at).
    public var decoyHashCost: Int? { decoyHash.split(separator: "$").dropFirst().first.flatMap { Int($0) } }
    static let decoys = DecoyHashes()
}

/// Decoy bcrypt hashes, one per cost, made on first use.
final class DecoyHashes: Sendable {
    private let hashes = Mutex<[UInt8: String]>([:])

    func hash(cost: UInt8) -> String {
        if let made = hashes.withLock({ $0[cost] }) { return made }
        let made = Bcrypt.hash(TokenHash.make(prefix: ""), cost: cost)
        return hashes.withLock {
            $0[cost]
                ?? {
                    $0[cost] = made
                    return made
                }(&$0)
        }
    }
}

extension AccountService {
    /// Records that `userID` signed in from `address`; true when the account had signed in before, but
    /// never from there (a first sign-in ever is not news). Atomic: one insert decides.
    public func noteSignIn(userID: String, address: String) async throws -> Bool {
        struct Row: Decodable { let user_id: String }
        let known = try await store.sql.select().column("user_id").from("sign_in_addresses").where("user_id", .equal, userID).limit(1).first(
            decoding: Row.self
        )
        let inserted = try await store.sql.raw(
            """
            INSERT INTO sign_in_addresses (user_id, address, first_seen_ms) VALUES (\(bind: userID), \(bind: String(address.prefix(64))), \(bind: clock.now().millis))
            ON CONFLICT (user_id, address) DO NOTHING RETURNING user_id
            """
        ).all(decoding: Row.self)
        return known != nil && !inserted.isEmpty
    }
}
