import Foundation
import KeywardServer
import Logging
import Synchronization
import Testing

/// What `keyward serve` says about itself at start and stop: where each listener listens, as people type
/// addresses (`127.0.0.1:8443`, not NIO's `[IPv4]127.0.0.1/127.0.0.1:8443`), what the plain HTTP listener
/// is for, and one line when a shutdown begins and one when it is over, with how long it took.
@Suite(.closesStores) struct ServerRunLogTests {
    @Test func startAndGracefulStopAreLoggedWithAddressesPeopleType() async throws {
        let lines = LogLines()
        var logger = Logger(label: "keyward") { _ in CollectingLogHandler(sink: lines) }
        logger.logLevel = .notice
        // A database of its own: a live server runs the certificate worker, which must not touch other tests' channels.
        let app = try await buildApplication(settings: try Harness.isolatedSettings(), logger: logger)
        let run = ServerRun(app, logger: logger, stopsOnSignals: false)
        let serving = Task { try await run.run() }

        // Both listeners say where they are (ports 0: the kernel picks; what is logged is the real one).
        for _ in 0..<600 where lines.matching("serving HTTPS on").isEmpty || lines.matching("plain HTTP listener is on").isEmpty {
            try await Task.sleep(for: .milliseconds(100))
        }
        let https = try #require(lines.matching("serving HTTPS on").first)
        let plain = try #require(lines.matching("plain HTTP listener is on").first, "\(lines.lines.withLock { $0 })")
        #expect(https.contains(/serving HTTPS on 127\.0\.0\.1:[1-9][0-9]*;/), "\(https)")
        #expect(plain.contains(/listener is on 127\.0\.0\.1:[1-9][0-9]*:/), "\(plain)")
        for purpose in ["ACME HTTP-01", "/.well-known/", "redirects to HTTPS", "403 https_required"] {
            #expect(plain.contains(purpose), "\(plain)")
        }
        #expect(lines.matching("[IPv4]").isEmpty && lines.matching("[IPv6]").isEmpty)
        #expect(lines.matching("stopped").isEmpty)

        // A graceful stop (what SIGTERM does): one line as it begins, one when it is over, in that order.
        await run.stop()
        try await serving.value
        let all = lines.lines.withLock { $0 }
        let begins = try #require(all.firstIndex { $0.contains("is shutting down") }, "\(all)")
        let ends = try #require(all.firstIndex { $0.contains("Keyward stopped gracefully in ") }, "\(all)")
        #expect(begins < ends)
        #expect(all[ends].contains(/stopped gracefully in [0-9]+\.[0-9] s$/), "\(all[ends])")
        #expect(lines.matching("stopped").count == 1)
    }
}
