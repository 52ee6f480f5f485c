import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KeywardCore
import KeywardServer
import KeywardTestSupport
import Synchronization
import Testing

/// Several instances on one database send each webhook once, not once per instance.
@Suite(.closesStores) struct ScaleOutDeliveryTests {
    /// Attack: two instances run their alert pass at the same moment. Before, both read the same due
    /// delivery and both posted it (and both could queue the same expiry event); now each due delivery
    /// is claimed by one instance, and each expiry state is queued by one scan.
    @Test func twoInstancesSendEachDueWebhookOnce() async throws {
        let pki = try TestPKI()
        try pki.issue("soon", cn: "soon.shop.example", by: "inter", ext: "leaf.ext", days: 10)
        let clock = TestClock()
        let settings = try Harness.isolatedSettings { Harness.loopbackWebhooks(&$0) }
        let first = try await Harness.services(settings, clock: clock.clock)
        let second = try await Harness.services(settings, clock: clock.clock)
        let tenant = try await Harness.tenant(first)
        _ = try await first.certificates.upload(
            merchantID: tenant.merchant.id,
            mode: .live,
            type: .ssl,
            name: "soon",
            files: [try pki.bytes("soon.crt"), try pki.bytes("inter.crt"), try pki.bytes("soon.key")]
        )
        let received = Mutex<[String]>([])
        let router = Router()
        router.post("/hook") { request, _ -> HTTPResponse.Status in
            received.withLock { $0.append(request.headers[HTTPField.Name("Keyward-Event")!] ?? "") }
            return .ok
        }
        let hookApp = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await hookApp.test(.live) { hookClient in
            let hookPort = try #require(hookClient.port)
            _ = try await first.webhooks.setEndpoint(merchantID: tenant.merchant.id, url: "http://127.0.0.1:\(hookPort)/hook")

            // The claim itself, without timing luck: both instances ask for due work before either sends.
            _ = try await ExpiryScanner(store: first.store, webhooks: first.webhooks, clock: clock.clock).scan()
            let dueOnFirst = try await first.webhooks.due()
            let dueOnSecond = try await second.webhooks.due()
            #expect(dueOnFirst.count + dueOnSecond.count == 1, "one due delivery was handed to \(dueOnFirst.count + dueOnSecond.count) instances")
            // A claimed delivery whose instance died comes back once the lease is over, to one instance.
            clock.advance(WebhookService.claimLease + 1)

            // Both full passes at once (scan + delivery), repeatedly: one POST per event in total.
            let alertsA = ExpiryAlerts(services: first, logger: Harness.logger)
            let alertsB = ExpiryAlerts(services: second, logger: Harness.logger)
            for _ in 0..<3 {
                async let a = alertsA.runOnce()
                async let b = alertsB.runOnce()
                _ = try await (a, b)
            }
            #expect(received.withLock { $0 } == ["certificate.critical"])
            // The next state (expired), scanned by both instances at the same time: queued and sent once.
            clock.advance(11 * 86400)
            for _ in 0..<3 {
                async let a = alertsA.runOnce()
                async let b = alertsB.runOnce()
                _ = try await (a, b)
            }
            #expect(received.withLock { $0 } == ["certificate.critical", "certificate.expired"])
        }
        await first.store.shutdown()
        await second.store.shutdown()
    }
}
