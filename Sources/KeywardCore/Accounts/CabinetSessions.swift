import Foundation
import KeywardCrypto
import SQLKit

/// A signed-in cabinet session.
public struct CabinetSession: Sendable, Equatable {
    public let userID: String
    public let merchantID: String
    /// The token every form must carry (CSRF).
    public let csrfToken: String
    /// Whether the second factor was given in this session.
    public let secondFactor: Bool
    public let expiresAt: Date
}

/// Server-side cabinet sessions: the cookie holds a random token, the database its SHA-256, so a
/// stolen database yields no usable cookie and a session ends everywhere at once (logout, reset,
/// removal from the team). Sessions end after 12 hours, or 30 minutes without use.
public struct CabinetSessions: Sendable {
    let store: KeywardStore
    let clock: KeywardClock

    public static let absoluteLifetime: TimeInterval = 12 * 3600
    public static let idleLifetime: TimeInterval = 30 * 60

    public init(store: KeywardStore, clock: KeywardClock = .system) {
        self.store = store
        self.clock = clock
    }

    struct Row: Codable {
        let id: String
        let user_id: String
        let merchant_id: String
        let csrf_token: String
        let second_factor: Int64
        let created_ms: Int64
        let expires_ms: Int64
        let last_seen_ms: Int64
        let address: String?
        let user_agent: String?
        var session: CabinetSession {
            CabinetSession(
                userID: user_id,
                merchantID: merchant_id,
                csrfToken: csrf_token,
                secondFactor: second_factor != 0,
                expiresAt: Date(millis: expires_ms)
            )
        }
    }

    /// Starts a session from `origin`; returns the cookie token (shown to the browser only) and the session.
    public func create(
        userID: String,
        merchantID: String,
        secondFactor: Bool,
        origin: SessionOrigin
    ) async throws -> (token: String, session: CabinetSession) {
        let token = TokenHash.make(prefix: "kws_")
        let now = clock.now()
        let row = Row(
            id: TokenHash.of(token),
            user_id: userID,
            merchant_id: merchantID,
            csrf_token: TokenHash.make(prefix: ""),
            second_factor: secondFactor ? 1 : 0,
            created_ms: now.millis,
            expires_ms: now.addingTimeInterval(Self.absoluteLifetime).millis,
            last_seen_ms: now.millis,
            address: String(origin.address.prefix(64)),
            user_agent: String(origin.userAgent.prefix(200))
        )
        try await store.sql.insert(into: "cabinet_sessions").model(row).run()
        return (token, row.session)
    }

    /// Replaces the session of `token` by a new one (a new cookie and CSRF token) at a privilege change:
    /// the second factor given, a merchant switched to. A token captured before the change is worthless after.
    public func rotate(
        token: String,
        merchantID: String? = nil,
        secondFactor: Bool? = nil,
        origin: SessionOrigin
    ) async throws -> (token: String, session: CabinetSession) {
        guard
            let row = try await store.sql.select().column("*").from("cabinet_sessions").where("id", .equal, TokenHash.of(token)).first(
                decoding: Row.self
            )
        else {
            throw KeywardError(.unauthenticated, .notSignedIn, "The session ended; sign in again.")
        }
        try await end(token: token)
        return try await create(
            userID: row.user_id,
            merchantID: merchantID ?? row.merchant_id,
            secondFactor: secondFactor ?? (row.second_factor != 0),
            origin: origin
        )
    }

    /// The user's live sessions, most recently used first.
    public func list(userID: String) async throws -> [SessionSummary] {
        let now = clock.now().millis
        return try await store.sql.select().column("*").from("cabinet_sessions").where("user_id", .equal, userID)
            .where("expires_ms", .greaterThan, now).where("last_seen_ms", .greaterThan, now - Int64(Self.idleLifetime * 1000))
            .orderBy("last_seen_ms", .descending).all(decoding: Row.self).map {
                SessionSummary(
                    handle: String($0.id.prefix(16)),
                    createdAt: Date(millis: $0.created_ms),
                    lastSeenAt: Date(millis: $0.last_seen_ms),
                    address: $0.address ?? "unknown",
                    userAgent: $0.user_agent ?? ""
                )
            }
    }

    /// The handle the account page shows for the session of `token`.
    public static func handle(of token: String) -> String { String(TokenHash.of(token).prefix(16)) }

    /// The live session of a cookie token, touched; nil when unknown, expired or idle too long.
    public func lookup(token: String) async throws -> CabinetSession? {
        guard token.hasPrefix("kws_"), token.utf8.count < 100 else { return nil }
        let id = TokenHash.of(token)
        guard let row = try await store.sql.select().column("*").from("cabinet_sessions").where("id", .equal, id).first(decoding: Row.self) else {
            return nil
        }
        let now = clock.now().millis
        guard row.expires_ms > now, now - row.last_seen_ms < Int64(Self.idleLifetime * 1000) else {
            try await store.sql.delete(from: "cabinet_sessions").where("id", .equal, id).run()
            return nil
        }
        if now - row.last_seen_ms > 60_000 {
            try await store.sql.update("cabinet_sessions").set("last_seen_ms", to: now).where("id", .equal, id).run()
        }
        return row.session
    }

    public func end(token: String) async throws {
        try await store.sql.delete(from: "cabinet_sessions").where("id", .equal, TokenHash.of(token)).run()
    }

    /// Ends every session of the user (password, second factor or role changed; "sign out everywhere").
    public func endAll(userID: String) async throws {
        try await store.sql.delete(from: "cabinet_sessions").where("user_id", .equal, userID).run()
    }
}

/// Where a session was opened from, as the account page shows it.
public struct SessionOrigin: Sendable {
    public let address: String
    public let userAgent: String

    public init(address: String, userAgent: String) {
        self.address = address
        self.userAgent = userAgent
    }
}

/// A live session as the account page lists it (never its token).
public struct SessionSummary: Sendable, Equatable {
    /// A short, stable name of the session (a prefix of its stored hash).
    public let handle: String
    public let createdAt: Date
    public let lastSeenAt: Date
    public let address: String
    public let userAgent: String
}
