import Foundation
import KeywardCrypto
import Logging
import SQLKit
import ServiceLifecycle

/// How many technical sessions a merchant may hold and how long unused ones live. Opening a session
/// needs only the merchant's `serviceCode`, so without these a flood of `authorize_virtual_device`
/// calls would grow `device_sessions` without bound.
public struct DeviceSessionLimits: Sendable {
    /// Open sessions (not expired, not revoked, and used or still young) per merchant and mode.
    public var maxOpenPerMerchant: Int = 1000
    /// A session never used within this long is pruned and stops counting against the cap: whoever
    /// opened it could not (or did not) decrypt the answer.
    public var unusedLifetime: TimeInterval = 600
    /// Expired and revoked sessions are kept this long (so callers get `b_expired_token`, not
    /// `b_session_doesnt_exist`), then deleted.
    public var expiredRetention: TimeInterval = 24 * 3600

    public init() {}
}

extension DeviceSessionService {
    /// Refuses a new session when the merchant already holds `maxOpenPerMerchant` open ones.
    func refuseOverCap(merchantID: String, mode: Mode) async throws {
        let now = clock.now().millis
        let youngest = now - Int64(limits.unusedLifetime * 1000)
        struct Count: Decodable { let n: Int64 }
        let open =
            try await store.sql.raw(
                """
                SELECT COUNT(*) AS n FROM device_sessions
                WHERE merchant_id = \(bind: merchantID) AND mode = \(bind: mode.rawValue) AND revoked_ms IS NULL AND expires_ms > \(bind: now)
                  AND (first_used_ms IS NOT NULL OR created_ms > \(bind: youngest))
                """
            ).first(decoding: Count.self)?.n ?? 0
        if open >= Int64(limits.maxOpenPerMerchant) {
            throw KeywardError(
                .conflict,
                .tooManySessions,
                "This merchant already has \(limits.maxOpenPerMerchant) open sessions in \(mode.rawValue) mode; reuse one until it expires, or revoke some."
            )
        }
    }

    /// Records a session's first use, once (the cached entry is dropped so the next call reads it back).
    func markUsed(_ id: String) async {
        let now = clock.now().millis
        do {
            try await store.sql.update("device_sessions").set("first_used_ms", to: now).where("id", .equal, id).where(
                "first_used_ms",
                .is,
                SQLLiteral.null
            ).run()
            forget(id)
        } catch {
            // Best effort: a session whose use is not recorded is pruned early; its owner opens another.
        }
    }

    /// Deletes sessions never used within `unusedLifetime`, and expired or revoked ones past `expiredRetention`.
    /// Returns how many went.
    @discardableResult
    public func prune() async throws -> Int {
        let now = clock.now().millis
        let unusedBefore = now - Int64(limits.unusedLifetime * 1000)
        let endedBefore = now - Int64(limits.expiredRetention * 1000)
        struct Count: Decodable { let n: Int64 }
        let doomed =
            try await store.sql.raw(
                """
                SELECT COUNT(*) AS n FROM device_sessions
                WHERE (first_used_ms IS NULL AND created_ms <= \(bind: unusedBefore)) OR expires_ms <= \(bind: endedBefore) OR revoked_ms <= \(bind: endedBefore)
                """
            ).first(decoding: Count.self)?.n ?? 0
        guard doomed > 0 else { return 0 }
        try await store.sql.raw(
            """
            DELETE FROM device_sessions
            WHERE (first_used_ms IS NULL AND created_ms <= \(bind: unusedBefore)) OR expires_ms <= \(bind: endedBefore) OR revoked_ms <= \(bind: endedBefore)
            """
        ).run()
        return Int(doomed)
    }
}

/// Prunes technical sessions every `interval` (see `DeviceSessionService.prune`).
public struct DeviceSessionPruner: Service {
    let sessions: DeviceSessionService
    let interval: Duration
    let logger: Logger

    public init(sessions: DeviceSessionService, interval: Duration = .seconds(60), logger: Logger) {
        self.sessions = sessions
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                if Task.isCancelled { break }
                do { try await sessions.prune() } catch {
                    logger.warning("pruning technical sessions failed", metadata: ["error_type": "\(type(of: error))"])
                }
            }
        }
    }
}
