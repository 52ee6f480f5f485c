import Foundation
import Hummingbird
import HummingbirdTesting
import KeywardServer
import KeywardTestSupport
import Testing

/// The embedded default's HTTPS certificate (issued by the local CA) is renewed while serving.
@Suite(.closesStores) struct LocalCertificateRenewalTests {
    /// The serial and validity the listener presents (openssl s_client: a real TLS handshake on loopback).
    static func served(port: Int, sni: String?) async throws -> String {
        let name = sni.map { "-servername \($0)" } ?? "-noservername"
        return try await Shell.runDetached(
            "/bin/sh",
            [
                "-c",
                "openssl s_client -connect 127.0.0.1:\(port) \(name) </dev/null 2>/dev/null | openssl x509 -noout -serial -enddate",
            ]
        )
    }

    /// Attack: a server that stays up past its certificate's lifetime. Before, the certificate was
    /// issued once at start and HTTPS broke after 90 days of uptime. With the clock moved 61 days
    /// (past two thirds of 90), the listener presents a new certificate, with and without SNI, with
    /// no restart; before that point it keeps the first one.
    @Test func theDefaultCertificateIsRenewedWhileServing() async throws {
        let clock = TestClock()
        let settings = Harness.settings { $0.certificateCheckSeconds = 1 }
        let app = try await Harness.app(settings, clock: clock.clock)
        _ = try await app.test(.live) { client in
            let port = try #require(client.port)
            let first = try await Self.served(port: port, sni: "localhost")
            #expect(first.contains("serial="), "no certificate served: \(first)")
            #expect(try await Self.served(port: port, sni: nil) == first)
            // Checked every second: not due yet, so not renewed.
            try await Task.sleep(for: .seconds(2))
            #expect(try await Self.served(port: port, sni: "localhost") == first)

            clock.advance(61 * 86400)
            var renewed = first
            let deadline = Date().addingTimeInterval(30)
            while renewed == first && Date() < deadline {
                try await Task.sleep(for: .milliseconds(200))
                renewed = try await Self.served(port: port, sni: "localhost")
            }
            #expect(renewed != first, "still the first certificate after the renewal point")
            #expect(renewed.contains("serial="))
            #expect(try await Self.served(port: port, sni: nil) == renewed, "a handshake without SNI gets the renewed certificate too")
        }
    }
}
