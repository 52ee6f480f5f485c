import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KeywardACME
import KeywardCore
import KeywardCrypto
import KeywardServer
import KeywardTestSupport
import Synchronization
import Testing

/// Uploaded channels, failures and backoff, expiry alerts through webhooks and /metrics, and the
/// Apple Pay domain-association file.
@Suite(.closesStores) struct ChannelAlertTests {
    static func json(_ object: [String: Any]) -> String {
        String(decoding: (try? JSONSerialization.data(withJSONObject: object)) ?? Data(), as: UTF8.self)
    }

    @Test func uploadedChannelsNeedACertificateCoveringEveryDomainAndServeItBySNI() async throws {
        let pki = try TestPKI()
        let settings = try Harness.isolatedSettings()
        let services = try await Harness.services(settings)
        let tenant = try await Harness.tenant(services)
        let other = try await Harness.tenant(services)
        let secret = tenant.liveKey.secret
        let upload = try await services.certificates.upload(
            merchantID: tenant.merchant.id,
            mode: .live,
            type: .ssl,
            name: nil,
            files: [try pki.bytes("leaf.crt"), try pki.bytes("inter.crt"), try pki.bytes("leaf.key")]
        )
        let channelID = try await Harness.app(settings).test(.router) { client -> String in
            let suffix = UUID().uuidString.prefix(6).lowercased()
            // A domain the certificate does not cover, a wildcard for ACME, garbage, and a missing certificate.
            try await client.call(
                .post,
                "/v1/manage/channels",
                key: secret,
                json: Self.json([
                    "name": "Shop", "domains": ["shop.example", "pay-\(suffix).example"], "ssl_mode": "uploaded", "certificate_id": upload.info.id,
                ])
            ) {
                $0.expectProblem(.badRequest, "certificate_does_not_cover_domain")
            }
            try await client.call(
                .post,
                "/v1/manage/channels",
                key: secret,
                json: Self.json(["name": "Shop", "domains": ["*.x-\(suffix).example"], "ssl_mode": "managed"])
            ) {
                $0.expectProblem(.badRequest, "wildcard_not_allowed")
            }
            for bad in ["", "localhost", "192.0.2.1", "exa mple.com", "-bad.example", String(repeating: "a", count: 64) + ".example"] {
                try await client.call(
                    .post,
                    "/v1/manage/channels",
                    key: secret,
                    json: Self.json(["name": "Shop", "domains": [bad], "ssl_mode": "managed"])
                ) {
                    $0.expectProblem(.badRequest, "invalid_domain")
                }
            }
            try await client.call(
                .post,
                "/v1/manage/channels",
                key: secret,
                json: Self.json(["name": "Shop", "domains": ["a-\(suffix).example"], "ssl_mode": "uploaded"])
            ) {
                $0.expectProblem(.badRequest, "certificate_required")
            }
            try await client.call(
                .post,
                "/v1/manage/channels",
                key: secret,
                json: Self.json(["name": "Shop", "domains": ["a-\(suffix).example"], "ssl_mode": "sometimes"])
            ) {
                $0.expectProblem(.badRequest, "invalid_field")
            }
            // Another merchant's certificate is not found, whatever its id.
            try await client.call(
                .post,
                "/v1/manage/channels",
                key: other.liveKey.secret,
                json: Self.json(["name": "Shop", "domains": ["shop.example"], "ssl_mode": "uploaded", "certificate_id": upload.info.id])
            ) {
                $0.expectProblem(.notFound, "resource_missing")
            }
            let created = try await client.call(
                .post,
                "/v1/manage/channels",
                key: secret,
                json: Self.json([
                    "name": "Shop", "domains": ["Shop.Example.", "www.shop.example"], "ssl_mode": "uploaded", "certificate_id": upload.info.id,
                ])
            )
            #expect(created.status == .created, "\(created.text)")
            #expect(created.json["domains"] as? [String] == ["shop.example", "www.shop.example"])
            // Nothing is served before the domains are verified (DomainVerificationTests); an operator vouches here.
            #expect(created.json["status"] as? String == "pending")
            let channelID = try #require(created.json["id"] as? String)
            _ = try await services.domainVerifications.force(channelID: channelID, actor: AuditActor(type: "operator", id: "test"))
            #expect(try await services.channels.get(merchantID: nil, mode: nil, id: channelID).status == "active")
            // A domain belongs to one channel only: not even the same merchant may claim it twice, nor another merchant once it is verified.
            try await client.call(
                .post,
                "/v1/manage/channels",
                key: other.liveKey.secret,
                json: Self.json(["name": "Thief", "domains": ["www.shop.example"], "ssl_mode": "managed"])
            ) {
                $0.expectProblem(.conflict, "domain_taken")
            }
            try await client.call(
                .post,
                "/v1/manage/channels",
                key: secret,
                json: Self.json(["name": "Twice", "domains": ["www.shop.example"], "ssl_mode": "managed"])
            ) {
                $0.expectProblem(.conflict, "domain_taken")
            }
            let listed = try await client.call(.get, "/v1/manage/certificates/\(upload.info.id)", key: secret)
            #expect(listed.json["channels"] as? [String] == [channelID])
            return channelID
        }
        _ = try await Harness.app(settings).test(.live) { client in
            let port = try #require(client.port)
            // SNI picks the uploaded certificate.
            let served = try await Shell.runDetached(
                "/bin/sh",
                [
                    "-c",
                    "openssl s_client -connect 127.0.0.1:\(port) -servername www.shop.example </dev/null 2>/dev/null | openssl x509 -noout -subject",
                ]
            )
            #expect(served.contains("shop.example"))
            // Deleting the channel frees the domain and the next handshake falls back to the local CA.
            try await services.channels.delete(merchantID: tenant.merchant.id, mode: .live, id: channelID)
            try await Task.sleep(for: .milliseconds(1500))
            let fallback = try await Shell.runDetached(
                "/bin/sh",
                [
                    "-c",
                    "openssl s_client -connect 127.0.0.1:\(port) -servername www.shop.example </dev/null 2>/dev/null | openssl x509 -noout -issuer",
                ]
            )
            #expect(fallback.contains("Keyward"))
        }
    }

    @Test func aCAThatIsDownFailsTheOrderWithItsReasonAndBacksOff() async throws {
        // A CA that answers 503, then one nobody listens for.
        let broken = Router()
        broken.get("/dir") { _, _ -> HTTPResponse.Status in .serviceUnavailable }
        let ca = Application(router: broken, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await ca.test(.live) { caClient in
            let clock = TestClock()
            let port = try #require(caClient.port)
            let settings = try Harness.isolatedSettings {
                $0.acmeDirectory = "http://127.0.0.1:\(port)/dir"
                $0.metricsToken = "scrape"
                Harness.loopbackWebhooks(&$0, names: ["hooks.invalid"])
            }
            try await Self.failingOrders(
                settings: settings,
                clock: clock,
                attempts: 7,
                reason: "acme_unreachable: The ACME directory answered HTTP 503"
            )
        }
        let closed = try Pebble.freePorts(1)[0]
        try await Self.failingOrders(
            settings: try Harness.isolatedSettings {
                $0.acmeDirectory = "https://127.0.0.1:\(closed)/dir"
                Harness.loopbackWebhooks(&$0, names: ["hooks.invalid"])
            },
            clock: TestClock(),
            attempts: 1,
            reason: "acme_unreachable: Cannot reach the CA at 127.0.0.1"
        )
    }

    static func failingOrders(settings: Settings, clock: TestClock, attempts: Int, reason: String) async throws {
        let services = try await Harness.services(settings, clock: clock.clock)
        let tenant = try await Harness.tenant(services)
        let channel = try await services.channels.create(
            merchantID: tenant.merchant.id,
            mode: .live,
            name: "Shop",
            domains: ["down-\(UUID().uuidString.prefix(6).lowercased()).example"],
            sslMode: .managed,
            certificateID: nil
        )
        // Orders are only placed for verified domains.
        _ = try await services.domainVerifications.force(channelID: channel.id, actor: AuditActor(type: "operator", id: "test"))
        _ = try await services.webhooks.setEndpoint(merchantID: tenant.merchant.id, url: "https://hooks.invalid/keyward")
        let worker = ACMEWorker(services: services, logger: Harness.logger)
        var waits: [Double] = []
        for attempt in 1...attempts {
            let report = try await worker.runDueOrders()
            #expect(report.failed == 1)
            #expect(try await worker.runDueOrders().failed == 0, "nothing is due during the backoff")
            let failed = try await services.channels.get(merchantID: nil, mode: nil, id: channel.id)
            #expect(failed.status == "failed")
            #expect(failed.statusDetail.hasPrefix(reason), "\(failed.statusDetail)")
            let wait = try #require(failed.nextAttempt).timeIntervalSince(clock.clock.now())
            waits.append((wait / 3600).rounded())
            // (Not after the last one: nothing may be due when the server below starts its own worker.)
            if attempt < attempts { clock.advance(wait + 1) }
        }
        await worker.shutdown()
        #expect(waits == Array([1.0, 2, 4, 8, 16, 32, 32].prefix(attempts)))
        // Each failure is also announced to the merchant's webhook, with the CA's reason.
        let announced = try await services.webhooks.deliveries(merchantID: tenant.merchant.id)
        #expect(
            announced.count == attempts && announced.allSatisfy { $0.eventType == "channel.order_failed" && $0.payload.contains("acme_unreachable") }
        )
        guard attempts == 7 else { return }
        let app = try await Harness.app(settings, clock: clock.clock)
        _ = try await app.test(.router) { client in
            let metrics = try await client.call(.get, "/metrics", key: "scrape")
            #expect(metrics.text.contains("keyward_certificate_renewal_errors_total{merchant=\"\(tenant.merchant.id)\",channel=\"\(channel.id)\"} 7"))
            // A manual renewal request makes it due now.
            let renewed = try await client.call(.post, "/v1/manage/channels/\(channel.id)/renew", key: tenant.liveKey.secret)
            #expect(renewed.status == .accepted)
            #expect((renewed.json["events"] as? [[String: Any]])?.contains { $0["kind"] as? String == "renewal_requested" } == true)
        }
    }

    /// A webhook receiver on a real port that records what it got.
    final class Receiver: Sendable {
        let received = Mutex<[(headers: HTTPFields, body: String)]>([])
        var all: [(headers: HTTPFields, body: String)] { received.withLock { $0 } }
    }

    @Test func expiryStatesReachTheAPIWebhooksAndMetricsOnce() async throws {
        let pki = try TestPKI()
        for (name, days) in [("soon", 10), ("month", 20), ("later", 60)] {
            try pki.issue(name, cn: "\(name).shop.example", by: "inter", ext: "leaf.ext", days: days)
        }
        let clock = TestClock()
        let settings = try Harness.isolatedSettings {
            $0.metricsToken = "scrape-token"
            Harness.loopbackWebhooks(&$0)
        }
        let services = try await Harness.services(settings, clock: clock.clock)
        let tenant = try await Harness.tenant(services)
        var uploaded: [String: String] = [:]
        for name in ["soon", "month", "later"] {
            uploaded[name] = try await services.certificates.upload(
                merchantID: tenant.merchant.id,
                mode: .live,
                type: .ssl,
                name: name,
                files: [try pki.bytes("\(name).crt"), try pki.bytes("inter.crt"), try pki.bytes("\(name).key")]
            ).info.id
        }
        let ids = uploaded
        let receiver = Receiver()
        let router = Router()
        router.post("/hook") { request, _ -> HTTPResponse.Status in
            let body = try await request.body.collect(upTo: 1 << 20)
            receiver.received.withLock { $0.append((request.headers, String(buffer: body))) }
            return .ok
        }
        let hookApp = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await hookApp.test(.live) { hookClient in
            let hookPort = try #require(hookClient.port)
            let (_, secret) = try await services.webhooks.setEndpoint(merchantID: tenant.merchant.id, url: "http://127.0.0.1:\(hookPort)/hook")
            let alerts = ExpiryAlerts(services: services, logger: Harness.logger)
            let first = try await alerts.runOnce()
            #expect(first.scan.changed == 3 && first.delivered == 2)
            #expect(try await alerts.runOnce() == ExpiryAlerts.Report(), "each state is announced once")
            var events = receiver.all.map { ($0.headers[HTTPField.Name("Keyward-Event")!] ?? "", $0.body) }
            #expect(Set(events.map(\.0)) == ["certificate.critical", "certificate.expiring"])
            // Signed t=,v1= over "t.body" with the endpoint's secret.
            for delivery in receiver.all {
                let header = try #require(delivery.headers[HTTPField.Name("Keyward-Signature")!])
                let parts = Dictionary(
                    uniqueKeysWithValues: header.split(separator: ",").map { part -> (String, String) in
                        let pair = part.split(separator: "=", maxSplits: 1)
                        return (String(pair[0]), String(pair[1]))
                    }
                )
                let expected = HMAC<SHA256>.authenticationCode(
                    for: Data("\(parts["t"] ?? "").\(delivery.body)".utf8),
                    using: SymmetricKey(data: Data(secret.utf8))
                )
                #expect(parts["v1"] == Hex.encode(expected))
            }
            let soon = try #require(events.first { $0.0 == "certificate.critical" })
            let payload = try #require(try JSONSerialization.jsonObject(with: Data(soon.1.utf8)) as? [String: Any])
            let certificate = try #require((payload["data"] as? [String: Any])?["certificate"] as? [String: Any])
            #expect(certificate["id"] as? String == ids["soon"] && certificate["days_left"] as? Int == 9)

            // Eleven days on: "soon" has expired, "month" is critical, "later" still valid.
            clock.advance(11 * 86400)
            let second = try await alerts.runOnce()
            #expect(second.delivered == 2)
            events = receiver.all.map { ($0.headers[HTTPField.Name("Keyward-Event")!] ?? "", $0.body) }
            #expect(events.suffix(2).map(\.0).sorted() == ["certificate.critical", "certificate.expired"])

            let app = try await Harness.app(settings, clock: clock.clock)
            _ = try await app.test(.router) { client in
                let list = try await client.call(.get, "/v1/manage/certificates", key: tenant.liveKey.secret)
                let statuses = (list.json["data"] as? [[String: Any]] ?? []).map { $0["status"] as? String ?? "" }
                #expect(statuses == ["expired", "critical", "valid"])
                let metrics = try await client.call(.get, "/metrics", key: "scrape-token")
                #expect(metrics.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
                let later = try await services.certificates.get(merchantID: tenant.merchant.id, mode: .live, id: try #require(ids["later"]))
                #expect(
                    metrics.text.contains(
                        "keyward_certificate_expiration_timestamp_seconds{merchant=\"\(tenant.merchant.id)\",channel=\"\",type=\"ssl\",serial=\"\(later.serial)\"} \(Int(later.notAfter.timeIntervalSince1970))"
                    )
                )
                let states = metrics.text.split(separator: "\n").filter {
                    $0.hasPrefix("keyward_certificate_expiry_state{merchant=\"\(tenant.merchant.id)\"")
                }
                #expect(
                    Set(states.compactMap { $0.split(separator: "state=\"").last?.split(separator: "\"").first.map(String.init) }) == [
                        "expired", "critical", "valid",
                    ]
                )
                let deliveries = try await client.call(.get, "/v1/manage/webhook/deliveries", key: tenant.liveKey.secret)
                #expect((deliveries.json["data"] as? [[String: Any]])?.allSatisfy { $0["status"] as? String == "delivered" } == true)
            }
        }
    }

    @Test func failedWebhooksAreRetriedWithBackoffAndMetricsNeedTheirToken() async throws {
        let pki = try TestPKI()
        try pki.issue("soon", cn: "soon.shop.example", by: "inter", ext: "leaf.ext", days: 5)
        let clock = TestClock()
        let settings = try Harness.isolatedSettings {
            $0.metricsToken = "metrics-token-123"
            Harness.loopbackWebhooks(&$0, names: ["hooks.example.com"])
        }
        let services = try await Harness.services(settings, clock: clock.clock)
        let tenant = try await Harness.tenant(services)
        _ = try await services.certificates.upload(
            merchantID: tenant.merchant.id,
            mode: .live,
            type: .ssl,
            name: nil,
            files: [try pki.bytes("soon.crt"), try pki.bytes("inter.crt"), try pki.bytes("soon.key")]
        )
        let failing = Router()
        failing.post("/hook") { _, _ -> HTTPResponse.Status in .internalServerError }
        try await Application(router: failing, configuration: .init(address: .hostname("127.0.0.1", port: 0))).test(.live) { hook in
            _ = try await services.webhooks.setEndpoint(merchantID: tenant.merchant.id, url: "http://127.0.0.1:\(try #require(hook.port))/hook")
            let alerts = ExpiryAlerts(services: services, logger: Harness.logger)
            #expect(try await alerts.runOnce().failedAttempts == 1)
            #expect(try await alerts.runOnce().failedAttempts == 0, "not retried before its backoff")
            clock.advance(61)
            #expect(try await alerts.runOnce().failedAttempts == 1)
            clock.advance(60)
            #expect(try await alerts.runOnce().failedAttempts == 0, "the second wait is two minutes")
            let deliveries = try await services.webhooks.deliveries(merchantID: tenant.merchant.id)
            #expect(deliveries.count == 1 && deliveries[0].attempts == 2 && deliveries[0].status == "pending")
            #expect(deliveries[0].lastError == "HTTP 500")
        }

        let app = try await Harness.app(settings, clock: clock.clock)
        _ = try await app.test(.router) { client in
            try await client.call(.get, "/metrics", key: nil) { $0.expectProblem(.unauthorized, "metrics_token_required") }
            try await client.call(.get, "/metrics", key: "wrong") { $0.expectProblem(.unauthorized, "metrics_token_required") }
            try await client.call(.get, "/metrics", key: "metrics-token-123") {
                #expect($0.text.contains("keyward_certificate_expiration_timestamp_seconds{"))
            }
            try await client.call(.put, "/v1/manage/webhook", key: tenant.liveKey.secret, json: #"{"url": "ftp://example.com/x"}"#) {
                $0.expectProblem(.badRequest, "invalid_url")
            }
            let set = try await client.call(
                .put,
                "/v1/manage/webhook",
                key: tenant.liveKey.secret,
                json: #"{"url": "https://hooks.example.com/keyward"}"#
            )
            #expect((set.json["secret"] as? String)?.hasPrefix("whsec_") == true)
            let read = try await client.call(.get, "/v1/manage/webhook", key: tenant.liveKey.secret)
            #expect(read.json["secret"] is NSNull || read.json["secret"] == nil, "the secret is shown once")
        }
    }

    @Test func theApplePayDomainAssociationFileIsServedOnTheMerchantsDomainsOnly() async throws {
        let pki = try TestPKI()
        let settings = try Harness.isolatedSettings()
        let services = try await Harness.services(settings)
        let tenant = try await Harness.tenant(services)
        let upload = try await services.certificates.upload(
            merchantID: tenant.merchant.id,
            mode: .live,
            type: .ssl,
            name: nil,
            files: [try pki.bytes("leaf.crt"), try pki.bytes("inter.crt"), try pki.bytes("leaf.key")]
        )
        let channel = try await services.channels.create(
            merchantID: tenant.merchant.id,
            mode: .live,
            name: "Shop",
            domains: ["shop.example"],
            sslMode: .uploaded,
            certificateID: upload.info.id
        )
        // Served on verified domains only (DomainVerificationTests has the unverified case).
        _ = try await services.domainVerifications.force(channelID: channel.id, actor: AuditActor(type: "operator", id: "test"))
        let association = String(repeating: "7b2270737049", count: 200)
        let app = try await Harness.app(settings)
        _ = try await app.test(.router) { client in
            try await client.execute(
                uri: "/v1/manage/apple-pay/domain-association",
                method: .put,
                headers: [.authorization: "Bearer \(tenant.liveKey.secret)"],
                body: ByteBuffer(string: association)
            ) { #expect($0.status == .noContent) }
            try await client.execute(
                uri: "/v1/manage/apple-pay/domain-association",
                method: .put,
                headers: [.authorization: "Bearer \(tenant.liveKey.secret)"],
                body: ByteBuffer(bytes: [0, 1, 2, 0xff])
            ) {
                $0.expectProblem(.badRequest, "invalid_file")
            }
        }
        for listener in [Listener.plainHTTP, .https] {
            let app = Application(
                router: buildRouter(services, listener: listener),
                configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                logger: Harness.logger
            )
            _ = try await app.test(.live) { client in
                let url = "http://127.0.0.1:\(try #require(client.port))/.well-known/apple-developer-merchantid-domain-association"
                let served = try await Shell.runDetached("/usr/bin/curl", ["-s", "-w", "\n%{http_code}", "-H", "Host: shop.example", url])
                #expect(served == association + "\n200", "served as is, no redirect, on \(listener)")
                #expect(
                    try await Shell.runDetached("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Host: other.example", url])
                        == "404"
                )
            }
        }
    }
}
