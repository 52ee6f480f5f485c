import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// A small pool of threads for CPU-heavy work (bcrypt, PBKDF2 of encrypted keys, RSA key generation,
/// certificate chains, CSRs), off the event loops and off Swift's cooperative pool, so a burst of it
/// cannot stall request handling. At most `maxPending` jobs run or wait; one more is refused at once with
/// 503 `server_busy` (and `Retry-After`) instead of queueing without bound.
public final class HeavyWork: Sendable {
    public let threads: Int
    public let maxPending: Int
    /// Started on first use: most instances (one per test application, the CLI's) never need it, and
    /// idle threads are not free when hundreds of applications live in one test process.
    private let pool = Mutex<NIOThreadPool?>(nil)
    private let pending = Mutex(0)

    /// A process-wide pool for code that is not given one (tests, the CLI).
    public static let shared = HeavyWork()

    public init(threads: Int = 2, maxPending: Int = 32) {
        self.threads = max(1, threads)
        self.maxPending = max(1, maxPending)
    }

    deinit { pool.withLock { $0?.shutdownGracefully { _ in } } }

    private var startedPool: NIOThreadPool {
        pool.withLock { pool in
            if let pool { return pool }
            let started = NIOThreadPool(numberOfThreads: threads)
            started.start()
            pool = started
            return started
        }
    }

    /// Runs `work` on the pool, or throws `server_busy` when `maxPending` jobs are already running or waiting.
    public func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        let admitted = pending.withLock { count in
            guard count < maxPending else { return false }
            count += 1
            return true
        }
        guard admitted else {
            throw KeywardError(.unavailable, .serverBusy, "The server is busy with other key and certificate work; retry in a second.")
        }
        defer { pending.withLock { $0 -= 1 } }
        return try await startedPool.runIfActive(work)
    }
}
