import FluentKit
import FluentPostgresDriver
import FluentSQLiteDriver
import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresKit
import SQLKit

/// The database behind Keyward: SQLite (embedded default) or PostgreSQL (scale-out), reached through
/// one SQL code path (SQLKit), with versioned migrations (Fluent's migrator).
public final class KeywardStore: Sendable {
    /// Which engine this store runs on.
    public enum Engine: Sendable, Equatable {
        case sqlite(path: String)
        case postgres(url: String)

        /// Whether several instances may share this database.
        public var isPostgres: Bool {
            if case .postgres = self { true } else { false }
        }
    }

    /// The engine in use.
    public let engine: Engine
    /// SQL access for the calling thread: the connection pool of the event loop it runs on (SQLite: that
    /// loop's own connection). A request's task resumes after a query on the loop that ran the query, so
    /// one shared loop would pull every request that touches the database onto one core.
    public var sql: any SQLDatabase { (database() as? any SQLDatabase) ?? defaultSQL }
    var fluent: any Database { database() }
    private let defaultDatabase: any Database
    private let defaultSQL: any SQLDatabase
    private let databases: Databases
    let logger: Logger

    /// How long a SQLite statement waits for another connection's lock before failing `SQLITE_BUSY`.
    let sqliteBusyTimeout: Duration

    /// Opens (without migrating) the database at `databaseURL` (`postgres://…`), or the SQLite file at
    /// `sqlitePath`, whose writers wait up to `sqliteBusyTimeout` for each other's lock.
    public init(databaseURL: String?, sqlitePath: String, sqliteBusyTimeout: Duration = .seconds(10), logger: Logger) throws {
        self.sqliteBusyTimeout = sqliteBusyTimeout
        let databases = Databases(threadPool: Self.blockingThreads, on: MultiThreadedEventLoopGroup.singleton)
        if let databaseURL, !databaseURL.isEmpty {
            guard databaseURL.hasPrefix("postgres://") || databaseURL.hasPrefix("postgresql://") else {
                throw StoreError("KEYWARD_DATABASE_URL must start with postgres:// (or leave it unset for SQLite)")
            }
            // Like SQLite's: under a burst of writers a request queues for a connection up to 30 s, not 10.
            databases.use(try .postgres(url: databaseURL, maxConnectionsPerEventLoop: 4, connectionPoolTimeout: .seconds(30)), as: .psql)
            self.engine = .postgres(url: databaseURL)
        } else {
            let directory = (sqlitePath as NSString).deletingLastPathComponent
            if !directory.isEmpty {
                try FileManager.default.createDirectory(
                    atPath: directory,
                    withIntermediateDirectories: true,
                    attributes: [.posixPermissions: 0o700]
                )
            }
            // A request waits up to 30 s for its loop's connection (SQLite has one per loop, held for a
            // whole transaction) before failing: a burst of writers on a busy machine queues, not errors.
            databases.use(.sqlite(.file(sqlitePath), connectionPoolTimeout: .seconds(30)), as: .sqlite)
            self.engine = .sqlite(path: sqlitePath)
        }
        guard let database = databases.database(logger: logger, on: MultiThreadedEventLoopGroup.singleton.any()),
            let sql = database as? any SQLDatabase
        else {
            throw StoreError("the database driver does not speak SQL")
        }
        self.databases = databases
        self.defaultDatabase = database
        self.defaultSQL = sql
        self.logger = logger
    }

    /// Where SQLite's blocking calls run: a pool of its own, larger than the number of connections. A
    /// statement waiting for SQLite's write lock keeps its thread (the driver's busy handler retries in
    /// place), so on NIO's shared pool (one thread per core) two waiting connections took every thread
    /// and the connection holding the lock could not run the COMMIT that frees it: the process spun.
    /// One pool for every store of the process (tests open hundreds), started once and never stopped.
    static let blockingThreads: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: max(8, 4 * System.coreCount))
        pool.start()
        return pool
    }()

    private func database() -> any Database {
        guard let loop = MultiThreadedEventLoopGroup.currentEventLoop,
            let database = databases.database(logger: logger, on: loop)
        else { return defaultDatabase }
        return database
    }

    /// Applies every pending migration; safe to call at every start. `through` stops after the named
    /// migration (tests of an upgrade prepare the older schema with it).
    public func migrate(through last: String? = nil) async throws {
        if case .sqlite = engine {
            // WAL lets the CLI write while a server reads.
            try await sql.raw("PRAGMA journal_mode=WAL").run()
            // In WAL mode, NORMAL syncs at checkpoints rather than at every commit: still crash-safe for the
            // process (committed data is in the WAL), and signed requests' nonce inserts stop waiting on
            // fsync. A power cut can lose the last instants of commits; PostgreSQL is the choice when that matters.
            // busy_timeout replaces the driver's busy handler, which retried a locked write at once and for
            // ever: a writer behind a long lock (another process, a stuck transaction) spun a thread at full
            // speed and its request never ended. Now it sleeps between tries and, after the timeout, fails
            // with SQLITE_BUSY, which the edge answers 503 `storage_unavailable` with Retry-After.
            // Per connection, and SQLite has one connection per event loop.
            let busyMilliseconds = max(
                1,
                Int(sqliteBusyTimeout.components.seconds * 1000 + sqliteBusyTimeout.components.attoseconds / 1_000_000_000_000_000)
            )
            for loop in MultiThreadedEventLoopGroup.singleton.makeIterator() {
                guard let database = databases.database(logger: logger, on: loop) as? any SQLDatabase else { continue }
                try await database.raw("PRAGMA synchronous=NORMAL").run()
                try await database.raw(SQLQueryString("PRAGMA busy_timeout=\(unsafeRaw: String(busyMilliseconds))")).run()
            }
        }
        let migrations = Migrations()
        var chosen = KeywardMigrations.all
        if let last, let index = chosen.firstIndex(where: { $0.name == last }) { chosen = Array(chosen[...index]) }
        migrations.add(chosen)
        let migrator = Migrator(
            databaseFactory: { [fluent] _ in fluent },
            migrations: migrations,
            on: MultiThreadedEventLoopGroup.singleton.any(),
            migrationLogLevel: .debug
        )
        // Two processes may start on a fresh database at once (a CLI command next to `serve`, instances
        // of a deployment): the loser of a race sees "already exists" for what the winner just created.
        // Retrying reads the winner's migration log and skips what is done.
        var attempt = 0
        while true {
            do {
                try await migrator.setupIfNeeded().get()
                try await migrator.prepareBatch().get()
                return
            } catch {
                attempt += 1
                if attempt >= 10 { throw error }
                try await Task.sleep(for: .milliseconds(Int.random(in: 50...250)))
            }
        }
    }

    /// Names of the migrations applied so far, oldest first.
    public func appliedMigrations() async throws -> [String] {
        struct Row: Decodable { let name: String }
        return try await sql.raw("SELECT name FROM _fluent_migrations ORDER BY batch, created_at")
            .all(decoding: Row.self).map(\.name)
    }

    /// Runs `body` in one transaction.
    ///
    /// On SQLite the transaction takes the write lock when it begins (`BEGIN IMMEDIATE`; every transaction
    /// of ours writes). With the driver's deferred `BEGIN`, a transaction that read first held a snapshot
    /// and failed with SQLITE_BUSY_SNAPSHOT when another connection committed before its first write,
    /// which under concurrent writers turned into 500s; waiting for the lock up front serialises them.
    public func transaction<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        guard case .sqlite = engine else {
            return try await fluent.transaction { database in
                guard let sql = database as? any SQLDatabase else { throw StoreError("the database driver does not speak SQL") }
                return try await body(sql)
            }
        }
        return try await fluent.withConnection { database in
            guard let sql = database as? any SQLDatabase else { throw StoreError("the database driver does not speak SQL") }
            try await sql.raw("BEGIN IMMEDIATE TRANSACTION").run()
            do {
                let result = try await body(sql)
                try await sql.raw("COMMIT TRANSACTION").run()
                return result
            } catch {
                try? await sql.raw("ROLLBACK TRANSACTION").run()
                throw error
            }
        }
    }

    /// Closes every connection.
    public func shutdown() async {
        await databases.shutdownAsync()
    }
}

/// A storage configuration problem.
public struct StoreError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}
