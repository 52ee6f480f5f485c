import Foundation
import KeywardCrypto
import SQLKit

/// Counts failures of a sign-in step per subject (an account and an address, an account on its own,
/// an account's second factor) and locks the step with a backoff once a threshold is reached.
///
/// Each failure is one atomic upsert that returns the new count, so parallel wrong guesses all count
/// (no read-modify-write). Subjects are stored hashed: no email or address sits in this table.
struct FailureThrottle: Sendable {
    let store: KeywardStore
    let clock: KeywardClock

    /// When a subject locks, and for how long.
    struct Policy: Sendable {
        /// Failures before the first lock.
        let threshold: Int64
        /// The first lock; each further failure doubles it, up to `maximum`.
        let firstLock: TimeInterval
        let maximum: TimeInterval
        /// Failures older than this are forgotten (the count starts again).
        let memory: TimeInterval
    }

    /// What a failure did.
    struct Outcome: Sendable {
        let failures: Int64
        /// Set when this failure locked (or extended the lock of) the subject.
        let lockedUntil: Date?
    }

    static func subject(_ parts: String...) -> String { TokenHash.of(parts.joined(separator: "\u{1F}")) }

    /// The end of the subject's lock, when it is locked now.
    func lockedUntil(_ subject: String) async throws -> Date? {
        struct Row: Decodable { let locked_until_ms: Int64? }
        let row = try await store.sql.select().column("locked_until_ms").from("sign_in_throttles").where("subject", .equal, subject).first(
            decoding: Row.self
        )
        guard let until = row?.locked_until_ms, until > clock.now().millis else { return nil }
        return Date(millis: until)
    }

    /// Counts one failure and locks the subject once `policy.threshold` is reached.
    @discardableResult
    func fail(_ subject: String, policy: Policy) async throws -> Outcome {
        struct Row: Decodable { let failures: Int64 }
        let now = clock.now().millis
        let forgetBefore = now - Int64(policy.memory * 1000)
        let counted = try await store.sql.raw(
            """
            INSERT INTO sign_in_throttles (subject, failures, locked_until_ms, updated_ms) VALUES (\(bind: subject), 1, NULL, \(bind: now))
            ON CONFLICT (subject) DO UPDATE SET
                failures = CASE WHEN sign_in_throttles.updated_ms < \(bind: forgetBefore) THEN 1 ELSE sign_in_throttles.failures + 1 END,
                updated_ms = \(bind: now)
            RETURNING failures
            """
        ).first(decoding: Row.self)
        let failures = counted?.failures ?? 1
        guard failures >= policy.threshold else { return Outcome(failures: failures, lockedUntil: nil) }
        let lock = min(policy.firstLock * pow(2, Double(min(failures - policy.threshold, 30))), policy.maximum)
        let until = now + Int64(lock * 1000)
        try await store.sql.update("sign_in_throttles").set("locked_until_ms", to: until).where("subject", .equal, subject).run()
        return Outcome(failures: failures, lockedUntil: Date(millis: until))
    }

    /// Forgets the subject's failures (after a success).
    func reset(_ subject: String) async throws {
        try await store.sql.delete(from: "sign_in_throttles").where("subject", .equal, subject).run()
    }
}
