import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Runs the server `buildApplication` made until SIGTERM or SIGINT (`keyward serve`), and says when it
/// stops: one line when a graceful shutdown begins (no new connections; open requests and background
/// work finish) and one when it is over, with how long it took. Without them an operator could not tell
/// a clean stop from a crash, nor see a drain that hangs.
public struct ServerRun: Sendable {
    let group: ServiceGroup
    let shutdown: ShutdownStart
    let logger: Logger

    /// SIGTERM and SIGINT start the graceful shutdown unless `stopsOnSignals` is false (tests, which call ``stop()``).
    public init(_ application: some Service, logger: Logger, stopsOnSignals: Bool = true) {
        let shutdown = ShutdownStart()
        self.shutdown = shutdown
        self.logger = logger
        // A group stops its services in reverse order: the notice, last, hears of the shutdown first.
        group = ServiceGroup(
            configuration: .init(
                services: [application, ShutdownNotice(start: shutdown, logger: logger)],
                gracefulShutdownSignals: stopsOnSignals ? [.sigterm, .sigint] : [],
                logger: logger
            )
        )
    }

    /// Serves until a graceful shutdown has finished (or the server failed, which it rethrows).
    public func run() async throws {
        do {
            try await group.run()
        } catch {
            logger.error("Keyward stopped on an error\(shutdown.elapsed.map { " \(Self.seconds($0)) after the shutdown began" } ?? ""): \(error)")
            throw error
        }
        if let elapsed = shutdown.elapsed {
            logger.notice("Keyward stopped gracefully in \(Self.seconds(elapsed))")
        } else {
            logger.notice("Keyward stopped: a service ended without a shutdown being asked for")
        }
    }

    /// Begins a graceful shutdown, as SIGTERM does.
    public func stop() async { await group.triggerGracefulShutdown() }

    /// `0.4 s`, `12.0 s`.
    static func seconds(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        return String(format: "%.1f s", Double(seconds) + Double(attoseconds) / 1e18)
    }
}

/// When the graceful shutdown began.
final class ShutdownStart: Sendable {
    private let instant = Mutex<ContinuousClock.Instant?>(nil)

    func begin() { instant.withLock { $0 = $0 ?? .now } }

    /// Time since the shutdown began; `nil` before.
    var elapsed: Duration? { instant.withLock { $0.map { .now - $0 } } }
}

/// Waits for the graceful shutdown, notes when it began and says so.
struct ShutdownNotice: Service {
    let start: ShutdownStart
    let logger: Logger

    func run() async throws {
        // Cancellation (a second signal, a failed service) is not a graceful shutdown: nothing to say then.
        do { try await gracefulShutdown() } catch { return }
        start.begin()
        logger.notice("Keyward is shutting down: no new connections; open requests and background work are finishing")
    }
}

/// What the plain HTTP listener says it is for when it starts.
func plainHTTPListenerLine(_ address: String, insecureHTTP: Bool) -> String {
    insecureHTTP
        ? "Keyward is serving the whole API on plain HTTP on \(address) (--insecure-http: for tests and benchmarks only)"
        : "Keyward's plain HTTP listener is on \(address): ACME HTTP-01 challenges and other /.well-known/ files, "
            + "redirects to HTTPS for browsers; API calls there are refused (403 https_required)"
}
