import FluentSQLiteDriver
import PostgresNIO

/// Which database failures mean "busy, try again" rather than a fault of ours, so the HTTP edge can
/// answer 503 `storage_unavailable` with `Retry-After` instead of a 500.
///
/// SQLite waits for its write lock (the driver's busy handler retries in place), but returns
/// `SQLITE_BUSY` without waiting where waiting could deadlock, and `SQLITE_LOCKED` inside one
/// connection; a connection request that waited out its pool timeout under a burst of writers fails
/// the same way on either engine. PostgreSQL reports serialization failures, deadlocks, lock timeouts
/// and a lost connection. None of these change data: the transaction rolled back, and the same request
/// sent again a moment later succeeds.
public enum StorageFailure {
    /// A short name of `error` when it is a transient storage failure (for the log; never a message
    /// or a query, which could carry data), or nil when it is anything else.
    public static func transientReason(_ error: any Error) -> String? {
        switch error {
        case let error as SQLiteError:
            switch error.reason {
            case .busy, .busyInRecovery, .busyInSnapshot, .busyTimeout: return "sqlite_busy"
            case .locked, .lockedBySharedCache, .lockedVirtualTable: return "sqlite_locked"
            default: return nil
            }
        case is ConnectionPoolTimeoutError:
            return "connection_pool_timeout"
        case let error as PSQLError:
            switch error.code {
            case .server:
                // 40001 serialization failure, 40P01 deadlock, 55P03 lock not available, 57014 statement timeout.
                let state = error.serverInfo?[.sqlState] ?? ""
                return ["40001", "40P01", "55P03", "57014"].contains(state) ? "postgres_\(state)" : nil
            case .connectionError, .serverClosedConnection, .poolClosed: return "postgres_connection"
            default: return nil
            }
        default:
            return nil
        }
    }
}
