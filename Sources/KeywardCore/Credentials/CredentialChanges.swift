import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresKit
import PostgresNIO
import SQLKit
import ServiceLifecycle
import Synchronization

/// How a credential change reaches every instance's cache.
///
/// Each change bumps a revision counter in the database inside the writing transaction and, on
/// PostgreSQL, sends `NOTIFY keyward_credentials` (delivered at commit). A listener on each instance
/// drops its cache on a notification; a poller reads the counter every `pollInterval` as a safety net
/// (a notification lost while reconnecting, or SQLite, where the CLI and the server share a file).
public final class CredentialChanges: Sendable {
    static let revisionName = "credentials"
    static let channel = "keyward_credentials"

    let engine: KeywardStore.Engine
    private let subscribers = Mutex<[@Sendable () -> Void]>([])

    /// Changes for a store on `engine`.
    public init(engine: KeywardStore.Engine) { self.engine = engine }

    /// Calls `handler` after every change seen, local or remote.
    public func subscribe(_ handler: @escaping @Sendable () -> Void) {
        subscribers.withLock { $0.append(handler) }
    }

    /// Records a change inside the writer's transaction.
    func record(on sql: any SQLDatabase) async throws {
        try await sql.raw("UPDATE keyward_revisions SET value = value + 1 WHERE name = \(bind: Self.revisionName)").run()
        if case .postgres = engine {
            try await sql.raw("SELECT pg_notify(\(bind: Self.channel), '')").run()
        }
    }

    /// Runs `write` in one transaction with the change record, then tells this process's subscribers:
    /// every credential write goes through here, so no write can forget to invalidate the caches.
    /// Inside an `AuditScope` the scope's audit entry (naming `target`) is appended in the same
    /// transaction: the change and its entry commit together or not at all.
    func commit(in store: KeywardStore, target: String? = nil, _ write: @escaping @Sendable (any SQLDatabase) async throws -> Void) async throws {
        let scope = AuditScope.current
        let entry = try await store.transaction { sql in
            try await write(sql)
            try await self.record(on: sql)
            return try await scope?.append(target: target, on: sql)
        }
        if let entry { scope?.committed(entry) }
        localChange()
    }

    /// Tells this process's subscribers at once (the writer does not wait for its own notification).
    public func localChange() {
        for handler in subscribers.withLock({ $0 }) { handler() }
    }

    func currentRevision(_ sql: any SQLDatabase) async throws -> Int64 {
        struct Row: Decodable { let value: Int64 }
        return try await sql.raw("SELECT value FROM keyward_revisions WHERE name = \(bind: Self.revisionName)")
            .first(decoding: Row.self)?.value ?? 0
    }
}

/// Background service that turns remote changes into local cache invalidations.
public struct CredentialChangeListener: Service {
    let store: KeywardStore
    let changes: CredentialChanges
    let pollInterval: Duration
    let logger: Logger

    public init(store: KeywardStore, changes: CredentialChanges, pollInterval: Duration = .milliseconds(500), logger: Logger) {
        self.store = store
        self.changes = changes
        self.pollInterval = pollInterval
        self.logger = logger
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await poll() }
                if case .postgres(let url) = store.engine {
                    group.addTask { await listen(url: url) }
                }
                await group.waitForAll()
            }
        } onGracefulShutdown: {
        }
    }

    private func poll() async {
        var last: Int64?
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                let revision = try await changes.currentRevision(store.sql)
                if let last, revision != last { changes.localChange() }
                last = revision
            } catch {
                logger.warning("credential revision poll failed", metadata: ["error": "\(String(describing: error).prefix(200))"])
            }
            try? await Task.sleep(for: pollInterval)
        }
    }

    private func listen(url: String) async {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                let configuration = try SQLPostgresConfiguration(url: url).coreConfiguration
                let connection = try await PostgresConnection.connect(
                    on: MultiThreadedEventLoopGroup.singleton.any(),
                    configuration: configuration,
                    id: 0,
                    logger: logger
                )
                do {
                    try await cancelWhenGracefulShutdown {
                        try await connection.listen(on: CredentialChanges.channel) { notifications in
                            // Anything may have changed while we were not listening.
                            changes.localChange()
                            for try await _ in notifications { changes.localChange() }
                        }
                    }
                } catch {
                    try? await connection.close()
                    throw error
                }
                try? await connection.close()
            } catch {
                if Task.isCancelled || Task.isShuttingDownGracefully { return }
                logger.warning("LISTEN connection lost; retrying", metadata: ["error": "\(String(describing: error).prefix(200))"])
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }
}
