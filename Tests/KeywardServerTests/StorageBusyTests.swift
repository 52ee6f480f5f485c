import Foundation
import HummingbirdTesting
import KeywardCore
import KeywardServer
import KeywardTestSupport
import Testing

/// A database that is busy is a 503 the client retries, never a 500 or a request that hangs: another
/// process (here Python's sqlite3, as a CLI command or a backup tool would) holds SQLite's write lock
/// longer than `sqlite_busy_timeout_ms`.
@Suite(.closesStores, .enabled(if: Harness.databaseURL == nil, "SQLite's write lock"))
struct StorageBusyTests {
    /// Starts a Python process that holds `path`'s write lock for `seconds`, and returns once it holds it
    /// (it says so by creating `path.locked`).
    static func holdWriteLock(_ path: String, seconds: Double) async throws -> ChildProcess {
        let marker = path + ".locked"
        let holder = try ChildProcess(
            "/usr/bin/python3",
            [
                "-c",
                """
                import sqlite3, sys, time
                db = sqlite3.connect(sys.argv[1], isolation_level=None)
                db.execute("BEGIN IMMEDIATE")
                open(sys.argv[1] + ".locked", "w").close()
                time.sleep(float(sys.argv[2]))
                db.execute("COMMIT")
                """,
                path, String(seconds),
            ]
        )
        for _ in 0..<200 where !FileManager.default.fileExists(atPath: marker) {
            try await Task.sleep(for: .milliseconds(25))
        }
        #expect(FileManager.default.fileExists(atPath: marker), "the lock holder started")
        return holder
    }

    @Test func aWriteBehindAnotherProcesssLockIsA503WithRetryAfterAndChangesNothing() async throws {
        let settings = Harness.settings { $0.sqliteBusyTimeout = .milliseconds(300) }
        let services = try await Harness.services(settings)
        let tenant = try await Harness.tenant(services)
        let before = try await services.secretKeys.list(merchantID: tenant.merchant.id, mode: .test).count
        let app = try await Harness.app(settings)
        _ = try await app.test(.router) { client in
            // The lock is held far longer than any request takes, even on a loaded machine, and ended by us.
            let holder = try await Self.holdWriteLock(settings.sqlitePath, seconds: 120)
            defer { if holder.isRunning { kill(holder.pid, SIGKILL) } }
            let refused = try await client.call(.post, "/v1/manage/keys", key: tenant.testKey.secret, json: #"{"name": "during the lock"}"#)
            refused.expectProblem(.serviceUnavailable, "storage_unavailable")
            #expect(refused.headers[.retryAfter] == "1")
            #expect(holder.isRunning, "the write gave up after the busy timeout, while the lock was still held")

            // Reads still answer while the lock is held (WAL): the key authenticates.
            _ = try await client.call(.get, "/v1/auth/test", key: tenant.testKey.secret) { #expect($0.status == .ok) }

            // SIGKILL: the test process may hold SIGTERM blocked, and a spawned child inherits that mask.
            kill(holder.pid, SIGKILL)
            while holder.isRunning { try await Task.sleep(for: .milliseconds(50)) }
            _ = try await client.call(.post, "/v1/manage/keys", key: tenant.testKey.secret, json: #"{"name": "after the lock"}"#) {
                #expect($0.status == .created)
            }
        }
        let names = try await services.secretKeys.list(merchantID: tenant.merchant.id, mode: .test).map(\.name)
        #expect(names.count == before + 1 && names.contains("after the lock") && !names.contains("during the lock"))
    }
}
