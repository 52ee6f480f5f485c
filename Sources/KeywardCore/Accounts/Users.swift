import Crypto
import Foundation
import HummingbirdBcrypt
import KeywardCrypto
import SQLKit

/// A cabinet user as the domain sees it (never the password hash or TOTP secret).
public struct UserInfo: Sendable, Equatable {
    public let id: String
    public let email: String
    public let hasPassword: Bool
    public let totpEnabled: Bool
    public let createdAt: Date
}

struct UserRow: Codable {
    let id: String
    let email: String
    let password_hash: String?
    let sealed_totp_secret: String?
    let totp_enabled: Int64
    let totp_last_step: Int64?
    let recovery_codes: String
    let failed_logins: Int64
    let locked_until_ms: Int64?
    let created_ms: Int64

    var info: UserInfo {
        UserInfo(id: id, email: email, hasPassword: password_hash != nil, totpEnabled: totp_enabled != 0, createdAt: Date(millis: created_ms))
    }
}

/// Passwords: bcrypt over base64(SHA-256(password)), so bytes past bcrypt's 72 count too; hashing runs
/// off the caller's thread (it takes a quarter second by design).
public struct PasswordHasher: Sendable {
    public let cost: UInt8
    /// Where hashing runs: a bounded pool, so a flood of sign-ins waits or gets 503, never stalls the server.
    public let pool: HeavyWork

    public init(cost: UInt8 = 12, pool: HeavyWork = .shared) {
        self.cost = cost
        self.pool = pool
    }

    static func prehash(_ password: String) -> String { Data(SHA256.hash(data: Array(password.utf8))).base64EncodedString() }

    public func hash(_ password: String) async throws -> String {
        let cost = cost
        return try await pool.run { Bcrypt.hash(Self.prehash(password), cost: cost) }
    }

    public func verify(_ password: String, hash: String) async throws -> Bool {
        try await pool.run { Bcrypt.verify(Self.prehash(password), hash: hash) }
    }

    /// A password people can live with and attackers cannot guess quickly.
    public static func check(_ password: String) throws(KeywardError) {
        guard (12...256).contains(password.count) else {
            throw .invalid(.weakPassword, "Passwords are 12 to 256 characters; a few unrelated words make a good one.", field: "password")
        }
        guard Set(password).count >= 5 else { throw .invalid(.weakPassword, "This password repeats too few characters.", field: "password") }
    }
}

/// One-time links: account setup, password reset, invitations. The token is shown once (in the link);
/// only its SHA-256 is stored.
public struct OneTimeToken: Sendable, Equatable {
    public let token: String
    public let purpose: String
    public let expiresAt: Date
}

enum TokenHash {
    static func of(_ token: String) -> String { Hex.encode(SHA256.hash(data: Array(token.utf8))) }

    static func make(prefix: String) -> String {
        var generator = SystemRandomNumberGenerator()
        return prefix + Base64URL.encode((0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
    }
}
