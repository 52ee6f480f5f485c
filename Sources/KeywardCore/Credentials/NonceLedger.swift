import Foundation
import SQLKit
import Synchronization

/// Records single-use nonces with group commit: concurrent requests' nonces go to the database in one
/// `INSERT … ON CONFLICT DO NOTHING RETURNING` per batch, and the rows it returns say which were new.
///
/// The unique index decides, so a replay is refused exactly, across instances sharing the database;
/// batching only changes how many round trips that takes. While one batch is in flight the next one
/// gathers, so under load each request waits for about one round trip and the database sees one
/// statement per batch instead of one per request.
final class NonceLedger: Sendable {
    private struct Pending {
        let keyID: String
        let nonce: String
        let expiresMillis: Int64
        let continuation: CheckedContinuation<Bool, any Error>
    }

    private struct State {
        var pending: [Pending] = []
        var flushing = false
    }

    private let store: KeywardStore
    private let state = Mutex(State())
    /// Rows per statement: 3 binds each stays far below SQLite's and PostgreSQL's bind limits.
    static let batchLimit = 500

    init(store: KeywardStore) { self.store = store }

    /// `true` when `nonce` of `keyID` was not used before (and is now), `false` for a replay.
    func use(keyID: String, nonce: String, expiresMillis: Int64) async throws -> Bool {
        try await withCheckedThrowingContinuation { continuation in
            let startFlush = state.withLock { state -> Bool in
                state.pending.append(Pending(keyID: keyID, nonce: nonce, expiresMillis: expiresMillis, continuation: continuation))
                guard !state.flushing else { return false }
                state.flushing = true
                return true
            }
            // One flusher at a time drains the queue; it is unstructured because no single request owns
            // it, and it ends as soon as the queue is empty.
            if startFlush { Task { await self.drain() } }
        }
    }

    private func drain() async {
        while true {
            let batch = state.withLock { state -> [Pending] in
                let taken = Array(state.pending.prefix(Self.batchLimit))
                state.pending.removeFirst(taken.count)
                if taken.isEmpty { state.flushing = false }
                return taken
            }
            if batch.isEmpty { return }
            await flush(batch)
        }
    }

    private func flush(_ batch: [Pending]) async {
        // A nonce twice in one batch: only its first use can be new.
        var first = Set<Pair>()
        var unique: [Pending] = []
        var duplicates: [Pending] = []
        for item in batch {
            if first.insert(Pair(keyID: item.keyID, nonce: item.nonce)).inserted { unique.append(item) } else { duplicates.append(item) }
        }
        do {
            var rows = SQLQueryString("INSERT INTO signature_nonces (key_id, nonce, expires_ms) VALUES ")
            for (index, item) in unique.enumerated() {
                if index > 0 { rows.appendLiteral(", ") }
                rows += "(\(bind: item.keyID), \(bind: item.nonce), \(bind: item.expiresMillis))"
            }
            rows += " ON CONFLICT (key_id, nonce) DO NOTHING RETURNING key_id, nonce"
            struct Row: Decodable {
                let key_id: String
                let nonce: String
            }
            let inserted = Set(try await store.sql.raw(rows).all(decoding: Row.self).map { Pair(keyID: $0.key_id, nonce: $0.nonce) })
            for item in unique { item.continuation.resume(returning: inserted.contains(Pair(keyID: item.keyID, nonce: item.nonce))) }
            for item in duplicates { item.continuation.resume(returning: false) }
        } catch {
            for item in batch { item.continuation.resume(throwing: error) }
        }
    }

    private struct Pair: Hashable {
        let keyID: String
        let nonce: String
    }
}
