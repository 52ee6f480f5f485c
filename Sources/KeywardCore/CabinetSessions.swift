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
        let id: String; let user_id: String; let merchant_id: String; let csrf_token: String; let second_factor: Int64
        let created_ms: Int64; let expires_ms: Int64; let last_seen_ms: Int64
        var session: CabinetSession {
            CabinetSession(userID: user_id, merchantID: merchant_id, csrfToken: csrf_token, secondFactor: second_factor != 0, expiresAt: Date(millis: expires_ms))
        }
    }

    /// Starts a session; returns the cookie token (shown to the browser only) and the session.
    public func create(userID: String, merchantID: String, secondFactor: Bool) async throws -> (token: String, session: CabinetSession) {
        let token = TokenHash.make(prefix: "kws_")
        let now = clock.now()
        let row = Row(id: TokenHash.of(token), user_id: userID, merchant_id: merchantID, csrf_token: TokenHash.make(prefix: ""), second_factor: secondFactor ? 1 : 0,
                      created_ms: now.millis, expires_ms: now.addingTimeInterval(Self.absoluteLifetime).millis, last_seen_ms: now.millis)
        try await store.sql.insert(into: "cabinet_sessions").model(row).run()
        return (token, row.session)
    }

    /// The live session of a cookie token, touched; nil when unknown, expired or idle too long.
    public func lookup(token: String) async throws -> CabinetSession? {
        guard token.hasPrefix("kws_"), token.utf8.count < 100 else { return nil }
        let id = TokenHash.of(token)
        guard let row = try await store.sql.select().column("*").from("cabinet_sessions").where("id", .equal, id).first(decoding: Row.self) else { return nil }
        let now = clock.now().millis
        guard row.expires_ms > now, now - row.last_seen_ms < Int64(Self.idleLifetime * 1000) else {
            try await store.sql.delete(from: "cabinet_sessions").where("id", .equal, id).run()
            return nil
        }
        if now - row.last_seen_ms > 60_000 { try await store.sql.update("cabinet_sessions").set("last_seen_ms", to: now).where("id", .equal, id).run() }
        return row.session
    }

    /// Records that the second factor was given.
    public func confirmSecondFactor(token: String) async throws {
        try await store.sql.update("cabinet_sessions").set("second_factor", to: Int64(1)).where("id", .equal, TokenHash.of(token)).run()
    }

    public func end(token: String) async throws {
        try await store.sql.delete(from: "cabinet_sessions").where("id", .equal, TokenHash.of(token)).run()
    }

    /// Ends every session of the user (password change, "sign out everywhere").
    public func endAll(userID: String) async throws {
        try await store.sql.delete(from: "cabinet_sessions").where("user_id", .equal, userID).run()
    }
}
