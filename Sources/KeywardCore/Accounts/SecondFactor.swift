import Crypto
import Foundation
import KeywardCrypto
import SQLKit

/// TOTP enrolment and checks: the secret is sealed, each code is accepted once (replay refused),
/// and ten recovery codes (shown once, stored hashed) each replace one code.
extension AccountService {
    static func totpContext(_ userID: String) -> String { "totp:\(userID)" }

    /// Starts enrolment: a secret (not yet required at login) and its `otpauth://` URI for the QR code.
    /// While enrolment is pending the same secret comes back, so reloading the page or mistyping a code
    /// does not invalidate what the member already scanned.
    public func beginTOTP(userID: String) async throws -> (secret: String, uri: String) {
        let user = try await row(id: userID)
        guard user.totp_enabled == 0 else {
            throw KeywardError(.conflict, .totpEnabled, "Two-factor authentication is already on; turn it off first to enrol a new device.")
        }
        let secret: [UInt8]
        if let pending = user.sealed_totp_secret {
            secret = try keyring.open(pending, context: Self.totpContext(userID))
        } else {
            secret = TOTP.generateSecret()
            try await store.sql.update("users").set("sealed_totp_secret", to: try keyring.seal(secret, context: Self.totpContext(userID)))
                .where("id", .equal, userID).run()
        }
        let totp = TOTP(secret: secret)
        return (Base32.encode(secret), totp.provisioningURI(account: user.email, issuer: "Keyward"))
    }

    /// Finishes enrolment with a first code; returns the recovery codes (shown once).
    public func confirmTOTP(userID: String, code: String) async throws -> [String] {
        let user = try await row(id: userID)
        guard user.totp_enabled == 0, let sealed = user.sealed_totp_secret else {
            throw KeywardError(.conflict, .totpNotPending, "Start enrolment first.")
        }
        let totp = TOTP(secret: try keyring.open(sealed, context: Self.totpContext(userID)))
        guard let step = totp.verify(code, at: clock.now(), after: nil) else {
            throw KeywardError(
                .invalidInput,
                .invalidCode,
                "That code does not match; check the device's clock and try the next code.",
                field: "code"
            )
        }
        let codes = Self.makeRecoveryCodes()
        try await store.sql.update("users").set("totp_enabled", to: Int64(1)).set("totp_last_step", to: step)
            .set("recovery_codes", to: JSONText.encode(codes.map { TokenHash.of($0) })).where("id", .equal, userID).run()
        return codes
    }

    /// Wrong codes per account, from every session and address together: five lock the second-factor
    /// step for a minute, doubling per further failure up to an hour (a million codes stay out of reach).
    static let secondFactorPolicy = FailureThrottle.Policy(threshold: 5, firstLock: 60, maximum: 3600, memory: 24 * 3600)

    /// Checks a TOTP code (each accepted once) or a recovery code (consumed): at sign-in, for a live roll,
    /// for new recovery codes. Wrong codes count per account; the fifth locks the step
    /// (`SecondFactorLockout`, whose `justLocked` tells the caller to end the session and alert).
    public func verifySecondFactor(userID: String, code: String) async throws {
        let user = try await row(id: userID)
        guard user.totp_enabled != 0, let sealed = user.sealed_totp_secret else {
            throw KeywardError(.forbidden, .totpRequired, "Turn on two-factor authentication first.")
        }
        let subject = FailureThrottle.subject("second-factor", userID)
        if let until = try await throttle.lockedUntil(subject) { throw SecondFactorLockout(until: until, justLocked: false) }
        do {
            try await checkSecondFactor(user, sealed: sealed, code: code)
        } catch let refusal as KeywardError where refusal.code == .invalidCode {
            if let until = try await throttle.fail(subject, policy: Self.secondFactorPolicy).lockedUntil {
                throw SecondFactorLockout(until: until, justLocked: true)
            }
            throw refusal
        }
        try await throttle.reset(subject)
    }

    private func checkSecondFactor(_ user: UserRow, sealed: String, code: String) async throws {
        let userID = user.id
        let refusal = KeywardError(.unauthenticated, .invalidCode, "That code is wrong or was used already.", field: "code")
        let trimmed = code.trimmingCharacters(in: .whitespaces).lowercased()
        if trimmed.contains("-") {
            var hashes = JSONText.decode([String].self, user.recovery_codes) ?? []
            guard let index = hashes.firstIndex(where: { ConstantTime.equals(Array($0.utf8), Array(TokenHash.of(trimmed).utf8)) }) else {
                throw refusal
            }
            hashes.remove(at: index)
            // Compare-and-set: of two requests racing with one recovery code, one wins.
            let updated = try await store.sql.update("users").set("recovery_codes", to: JSONText.encode(hashes)).where("id", .equal, userID)
                .where("recovery_codes", .equal, user.recovery_codes).returning("id").all()
            guard updated.count == 1 else { throw refusal }
            return
        }
        let totp = TOTP(secret: try keyring.open(sealed, context: Self.totpContext(userID)))
        guard let step = totp.verify(trimmed, at: clock.now(), after: user.totp_last_step) else { throw refusal }
        // Compare-and-set on the last step: two requests racing with one code cannot both win.
        let updated = try await store.sql.update("users").set("totp_last_step", to: step).where("id", .equal, userID)
            .where(SQLFunction("COALESCE", args: SQLColumn("totp_last_step"), SQLLiteral.numeric("-1")), .lessThan, SQLBind(step))
            .returning("id").all()
        guard updated.count == 1 else { throw refusal }
    }

    /// Ten fresh recovery codes (`xxxx-xxxx`, 40 random bits each), in clear for showing once.
    static func makeRecoveryCodes() -> [String] {
        var generator = SystemRandomNumberGenerator()
        return (0..<10).map { _ in
            let raw = Base32.encode((0..<5).map { _ in UInt8.random(in: .min ... .max, using: &generator) }).lowercased()
            return String(raw.prefix(4) + "-" + raw.dropFirst(4))
        }
    }

    /// Replaces every recovery code (the old ones stop working) after a fresh TOTP code; returns the new ones.
    public func regenerateRecoveryCodes(userID: String, code: String) async throws -> [String] {
        guard !code.contains("-") else {
            throw KeywardError(.invalidInput, .invalidCode, "Use a code from your authenticator app, not a recovery code.", field: "code")
        }
        try await verifySecondFactor(userID: userID, code: code)
        let codes = Self.makeRecoveryCodes()
        try await store.sql.update("users").set("recovery_codes", to: JSONText.encode(codes.map { TokenHash.of($0) })).where("id", .equal, userID)
            .run()
        return codes
    }

    /// Changes the password after checking the current one (a wrong one counts toward the lockout, as at sign-in).
    public func changePassword(userID: String, current: String, new: String, address: String) async throws {
        let user = try await row(id: userID)
        _ = try await login(email: user.email, password: current, address: address)
        try PasswordHasher.check(new)
        let hash = try await hasher.hash(new)
        try await store.sql.update("users").set("password_hash", to: hash).where("id", .equal, userID).run()
    }

    /// How many recovery codes are left.
    public func recoveryCodesLeft(userID: String) async throws -> Int {
        (JSONText.decode([String].self, try await row(id: userID).recovery_codes) ?? []).count
    }
}

/// Too many wrong second-factor codes: the step is locked until `until`.
public struct SecondFactorLockout: Error, Sendable {
    public let until: Date
    /// This failure set the lock (the caller ends the session, records and announces it once).
    public let justLocked: Bool

    /// As the API and the pages say it.
    public var problem: KeywardError {
        KeywardError(
            .forbidden,
            .secondFactorLocked,
            "Too many wrong codes: two-factor sign-in for this account is locked until \(ISO8601DateFormatter().string(from: until)). If that was not you, change your password."
        )
    }
}
