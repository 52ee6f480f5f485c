import Foundation
import Logging
import SQLKit
import ServiceLifecycle
import Synchronization

/// Records when keys were last used without a database write per request: uses are kept in memory and
/// written in one pass every `flushInterval` (and at shutdown). A key used 1,000 times a second costs
/// one UPDATE per interval.
public final class LastUsedRecorder: Service, Sendable {
    private let pending = Mutex<[String: Int64]>([:])
    let store: KeywardStore
    let flushInterval: Duration
    let logger: Logger

    public init(store: KeywardStore, flushInterval: Duration = .seconds(10), logger: Logger) {
        self.store = store
        self.flushInterval = flushInterval
        self.logger = logger
    }

    func record(keyID: String, at date: Date) {
        let millis = date.millis
        pending.withLock { entries in
            if let existing = entries[keyID], existing >= millis { return }
            entries[keyID] = millis
        }
    }

    /// Writes every pending use now. Never moves a timestamp backwards.
    public func flush() async {
        let batch = pending.withLock { entries in
            defer { entries.removeAll() }
            return entries
        }
        for (keyID, millis) in batch {
            do {
                try await store.sql.raw(
                    """
                    UPDATE secret_keys SET last_used_ms = \(bind: millis)
                    WHERE id = \(bind: keyID) AND (last_used_ms IS NULL OR last_used_ms < \(bind: millis))
                    """
                ).run()
            } catch {
                logger.warning("could not record key use", metadata: ["key_id": "\(keyID)"])
            }
        }
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: self.flushInterval)
                await self.flush()
            }
        }
        await flush()
    }
}
