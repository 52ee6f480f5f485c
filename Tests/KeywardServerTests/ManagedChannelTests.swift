import Foundation
import Hummingbird
import HummingbirdTesting
import KeywardACME
import KeywardCore
import KeywardCrypto
import KeywardServer
import KeywardTestSupport
import Testing

/// Managed channels against a real ACME CA (pebble): issuance answered by Keyward's own HTTP listener,
/// SNI serving of the result without a restart, renewal by itself when the clock reaches 2/3 of the
/// lifetime, backoff after failures, and EAB.
@Suite(.closesStores) struct ManagedChannelTests {
    static func settings(_ pebble: Pebble) throws -> Settings {
        try Harness.isolatedSettings {
            $0.httpPort = pebble.httpPort
            $0.acmeDirectory = pebble.directoryURL
            $0.acmeCABundle = pebble.caBundlePath
            $0.certificateCheckSeconds = 1
            Harness.loopbackWebhooks(&$0, names: ["hooks.invalid"])
            $0.verificationDNSResolver = try? DNSServerAddress(parsing: pebble.dns.address)
        }
    }

    /// Proves control of the channel's domains the way a merchant does: TXT records at
    /// `_keyward-challenge.<domain>` (in pebble's DNS), then a check.
    static func verifyByDNS(_ services: KeywardServices, _ pebble: Pebble, _ channel: SalesChannelInfo) async throws {
        for record in try await services.domainVerifications.records(merchantID: channel.merchantID, domains: channel.domains) {
            try await pebble.dns.setTXT(record.txtName, record.token)
        }
        let checked = try await services.domainVerifications.checkChannel(merchantID: nil, mode: nil, channelID: channel.id)
        #expect(checked.count == channel.domains.count && checked.allSatisfy(\.isVerified), "\(checked)")
    }

    /// The certificate the HTTPS listener presents for `serverName` (openssl s_client), as PEM.
    static func served(port: Int, serverName: String) async throws -> String {
        let output = try await Shell.runDetached(
            "/bin/sh",
            ["-c", "openssl s_client -connect 127.0.0.1:\(port) -servername \(serverName) </dev/null 2>/dev/null | openssl x509"]
        )
        return output
    }

    static func subjectAndSerial(_ pem: String) async throws -> String {
        try await Shell.runDetached("/usr/bin/openssl", ["x509", "-noout", "-serial", "-issuer", "-ext", "subjectAltName"], stdin: Data(pem.utf8))
    }

    static func waitFor(_ what: String, timeout: Double = 60, _ condition: () async throws -> Bool) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        Issue.record("timed out waiting for \(what)")
        throw CancellationError()
    }

    @Test func managedChannelIsIssuedServedBySNIAndRenewedByItself() async throws {
        let pebble = try await Pebble.start()
        defer { pebble.stop() }
        let clock = TestClock()
        let settings = try Self.settings(pebble)
        let services = try await Harness.services(settings, clock: clock.clock)
        let tenant = try await Harness.tenant(services)
        let domain = "shop-\(UUID().uuidString.prefix(8).lowercased()).test"
        let channel = try await services.channels.create(
            merchantID: tenant.merchant.id,
            mode: .live,
            name: "Web shop",
            domains: [domain, "www." + domain],
            sslMode: .managed,
            certificateID: nil
        )
        #expect(channel.status == "pending")
        try await Self.verifyByDNS(services, pebble, channel)
        _ = try await services.webhooks.setEndpoint(merchantID: tenant.merchant.id, url: "https://hooks.invalid/keyward")
        let app = try await Harness.app(settings, clock: clock.clock)
        _ = try await app.test(.live) { client in
            let port = try #require(client.port)
            try await Self.waitFor("the first certificate") {
                try await services.channels.get(merchantID: nil, mode: nil, id: channel.id).status == "active"
            }
            let active = try await services.channels.get(merchantID: nil, mode: nil, id: channel.id)
            let first = try await services.certificates.get(merchantID: tenant.merchant.id, mode: .live, id: try #require(active.certificateID))
            #expect(first.source == "acme")
            #expect(Set(first.names) == [domain, "www." + domain])
            #expect(first.issuer.contains("Pebble"))
            // 2/3 of pebble's five-year lifetime.
            let renewAt = try #require(active.renewAt)
            #expect(abs(renewAt.timeIntervalSince(first.notBefore) - first.notAfter.timeIntervalSince(first.notBefore) * 2 / 3) < 5)

            // Served by SNI for both names; other names get the local CA's certificate.
            let served = try await Self.served(port: port, serverName: "www." + domain)
            let stored = try await services.certificates.get(merchantID: tenant.merchant.id, mode: .live, id: first.id)
            #expect(served.trimmingCharacters(in: .whitespacesAndNewlines) == stored.certificatePEM.trimmingCharacters(in: .whitespacesAndNewlines))
            #expect(try await Self.subjectAndSerial(try await Self.served(port: port, serverName: "localhost")).contains("Keyward"))
            // The chain verifies up to pebble's root.
            try pebble.issuingRoot().write(toFile: NSTemporaryDirectory() + "/\(domain)-root.pem", atomically: true, encoding: .utf8)
            try stored.chainPEM.write(toFile: NSTemporaryDirectory() + "/\(domain)-chain.pem", atomically: true, encoding: .utf8)
            #expect(
                try await Shell.runDetached(
                    "/usr/bin/openssl",
                    [
                        "verify", "-CAfile", NSTemporaryDirectory() + "/\(domain)-root.pem",
                        "-untrusted", NSTemporaryDirectory() + "/\(domain)-chain.pem",
                    ],
                    stdin: Data(stored.certificatePEM.utf8)
                )
                .contains("OK")
            )

            // Move the clock past the renewal point: the worker renews on its own and SNI serves the new one.
            // (Pebble stamps the new certificate with the real time, so the moved clock finds it due at
            // once too: the clock goes back as soon as the renewal is seen.)
            let jump = renewAt.timeIntervalSince(clock.clock.now()) + 60
            clock.advance(jump)
            try await Self.waitFor("the renewal") {
                try await services.channels.get(merchantID: nil, mode: nil, id: channel.id).certificateID != first.id
            }
            clock.advance(-jump)
            try await Self.waitFor("the channel to settle") {
                try await services.channels.get(merchantID: nil, mode: nil, id: channel.id).status == "active"
            }
            let renewed = try await services.channels.get(merchantID: nil, mode: nil, id: channel.id)
            let second = try await services.certificates.get(merchantID: tenant.merchant.id, mode: .live, id: try #require(renewed.certificateID))
            #expect(second.serial != first.serial)
            let servedAfter = try await Self.served(port: port, serverName: domain)
            #expect(
                servedAfter.trimmingCharacters(in: .whitespacesAndNewlines) == second.certificatePEM.trimmingCharacters(in: .whitespacesAndNewlines)
            )
            // The replaced certificate is gone; the history says what happened.
            await #expect(throws: KeywardError.self) {
                _ = try await services.certificates.get(merchantID: tenant.merchant.id, mode: .live, id: first.id)
            }
            let kinds = try await services.channels.events(channelID: channel.id).map(\.kind)
            #expect(kinds.contains("issued") && kinds.contains("renewed") && !kinds.contains("order_failed"))
            let announced = Set(try await services.webhooks.deliveries(merchantID: tenant.merchant.id).map(\.eventType))
            #expect(announced.isSuperset(of: ["channel.certificate_issued", "channel.certificate_renewed"]))
        }
    }

    @Test func severalOrdersRunAtOnceAndTheChallengeAnswerIsServedOverPlainHTTP() async throws {
        // Pebble refuses 30 % of the nonces: every refusal is a badNonce the client must retry.
        let pebble = try await Pebble.start(extraEnvironment: ["PEBBLE_WFE_NONCEREJECT": "30"])
        defer { pebble.stop() }
        let settings = try Self.settings(pebble)
        let services = try await Harness.services(settings)
        let tenant = try await Harness.tenant(services)
        var channels: [SalesChannelInfo] = []
        for index in 0..<4 {
            channels.append(
                try await services.channels.create(
                    merchantID: tenant.merchant.id,
                    mode: .test,
                    name: "Shop \(index)",
                    domains: ["s\(index)-\(UUID().uuidString.prefix(6).lowercased()).test"],
                    sslMode: .managed,
                    certificateID: nil
                )
            )
            try await Self.verifyByDNS(services, pebble, channels[index])
        }
        // The plain HTTP listener alone (on pebble's validation port) answers the challenges.
        let plain = Application(
            router: buildRouter(services, listener: .plainHTTP),
            configuration: .init(address: .hostname("127.0.0.1", port: pebble.httpPort)),
            logger: Harness.logger
        )
        // (`test(.live)` would pick its own port; pebble needs this one.)
        let running = Task { try await plain.runService() }
        try await Self.waitFor("the HTTP listener") {
            (try? await Shell.runDetached("/usr/bin/curl", ["-s", "-o", "/dev/null", "http://127.0.0.1:\(pebble.httpPort)/healthz"])) != nil
        }
        let worker = ACMEWorker(services: services, logger: Harness.logger)
        let report = try await worker.runDueOrders()
        await worker.shutdown()
        running.cancel()
        _ = await running.result
        #expect(report.issued == 4 && report.failed == 0, "\(report)")
        for channel in channels {
            let now = try await services.channels.get(merchantID: nil, mode: nil, id: channel.id)
            #expect(now.status == "active", "\(now.statusDetail)")
        }
        // A token nobody published is a 404, and a published one is served as is (on its domain: the
        // router test's authority is localhost).
        try await services.acmeState.publishChallenge(token: "tok_abc", keyAuthorization: "tok_abc.thumb", domain: "localhost")
        _ = try await Application(router: buildRouter(services, listener: .plainHTTP), logger: Harness.logger).test(.router) { client in
            try await client.execute(uri: "/.well-known/acme-challenge/tok_abc", method: .get) { #expect(String(buffer: $0.body) == "tok_abc.thumb") }
            try await client.execute(uri: "/.well-known/acme-challenge/unknown", method: .get) { #expect($0.status == .notFound) }
        }
    }

    @Test func aManagedChannelIsNotOrderedFromPebbleUntilItsDomainsAreVerified() async throws {
        let pebble = try await Pebble.start()
        defer { pebble.stop() }
        let settings = try Self.settings(pebble)
        let clock = TestClock()
        let services = try await Harness.services(settings, clock: clock.clock)
        let tenant = try await Harness.tenant(services)
        let domain = "wait-\(UUID().uuidString.prefix(8).lowercased()).test"
        let channel = try await services.channels.create(
            merchantID: tenant.merchant.id,
            mode: .live,
            name: "Shop",
            domains: [domain, "www." + domain],
            sslMode: .managed,
            certificateID: nil
        )
        #expect(channel.status == "pending" && channel.statusDetail.contains("domain verification") && channel.nextAttempt == nil, "\(channel)")
        let plain = Application(
            router: buildRouter(services, listener: .plainHTTP),
            configuration: .init(address: .hostname("127.0.0.1", port: pebble.httpPort)),
            logger: Harness.logger
        )
        let running = Task { try await plain.runService() }
        defer { running.cancel() }
        try await Self.waitFor("the HTTP listener") {
            (try? await Shell.runDetached("/usr/bin/curl", ["-s", "-o", "/dev/null", "http://127.0.0.1:\(pebble.httpPort)/healthz"])) != nil
        }
        let worker = ACMEWorker(services: services, logger: Harness.logger)
        // Every name resolves to Keyward (pebble's DNS says 127.0.0.1), yet nothing is ordered.
        let none = try await worker.runDueOrders()
        #expect(none.issued == 0 && none.failed == 0 && none.deferred == 0, "\(none)")
        #expect(!pebble.log.contains("POST /order-plz"), "pebble received an order")
        // One domain verified is not enough.
        let first = try #require(try await services.domainVerifications.records(merchantID: tenant.merchant.id, domains: [domain]).first)
        try await pebble.dns.setTXT(first.txtName, first.token)
        _ = try await services.domainVerifications.checkChannel(merchantID: nil, mode: nil, channelID: channel.id)
        let stillNone = try await worker.runDueOrders()
        #expect(stillNone.issued == 0 && stillNone.failed == 0, "\(stillNone)")
        #expect(try await services.channels.get(merchantID: nil, mode: nil, id: channel.id).statusDetail.contains("www.\(domain)"))
        // Both: ordered at once.
        clock.advance(11)
        try await Self.verifyByDNS(services, pebble, channel)
        let report = try await worker.runDueOrders()
        await worker.shutdown()
        let detail = try await services.channels.get(merchantID: nil, mode: nil, id: channel.id).statusDetail
        #expect(report.issued == 1, "\(report) \(detail)")
        #expect(pebble.log.contains("POST /order-plz"))
    }
}
