import Foundation
import KeywardCore
import Logging

/// Expiry alerts: one pass scans expiry states (queuing webhooks for each worse state) and delivers
/// due webhooks, signed `Keyward-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "t.body")>`, retried
/// with backoff by the outbox.
public struct ExpiryAlerts: Sendable {
    let scanner: ExpiryScanner
    let webhooks: WebhookService
    let clock: KeywardClock
    let logger: Logger
    let sender: WebhookSender

    public init(services: KeywardServices, logger: Logger) {
        self.init(services: services, logger: logger, sender: WebhookSender(policy: services.webhooks.destinations))
    }

    /// With a sender of the caller's (tests trust their own CA).
    init(services: KeywardServices, logger: Logger, sender: WebhookSender) {
        self.webhooks = services.webhooks
        self.scanner = ExpiryScanner(store: services.store, webhooks: webhooks, clock: services.clock)
        self.clock = services.clock
        self.logger = logger
        self.sender = sender
    }

    /// What one pass did.
    public struct Report: Sendable, Equatable {
        public var scan = ExpiryScanner.Report()
        public var delivered = 0
        public var failedAttempts = 0

        public init() {}
    }

    @discardableResult
    public func runOnce() async throws -> Report {
        var report = Report()
        report.scan = try await scanner.scan()
        let due = try await webhooks.due()
        guard !due.isEmpty else { return report }
        // Eight at a time: one slow endpoint must not hold up every other merchant's notifications.
        for batch in due.chunked(8) {
            let outcomes = await withTaskGroup(of: (WebhookDelivery, String?).self) { group in
                for (delivery, url, secret) in batch { group.addTask { (delivery, await deliver(delivery, url: url, secret: secret)) } }
                var outcomes: [(WebhookDelivery, String?)] = []
                for await outcome in group { outcomes.append(outcome) }
                return outcomes
            }
            for (delivery, error) in outcomes {
                try await webhooks.recordAttempt(id: delivery.id, attempts: delivery.attempts, error: error)
                if let error {
                    report.failedAttempts += 1
                    logger.warning(
                        "webhook delivery failed",
                        metadata: ["delivery": "\(delivery.id)", "merchant": "\(delivery.merchantID)", "reason": "\(error)"]
                    )
                } else {
                    report.delivered += 1
                }
            }
        }
        return report
    }

    /// Posts one notification; nil on a 2xx answer, the reason otherwise (a status or an error code,
    /// never the answer's body). The destination is checked again first: see `WebhookSender`.
    func deliver(_ delivery: WebhookDelivery, url: String, secret: String) async -> String? {
        let body = Array(delivery.payload.utf8)
        let headers = [
            ("Content-Type", "application/json"),
            ("User-Agent", "Keyward-Webhooks/1"),
            ("Keyward-Event", delivery.eventType),
            ("Keyward-Delivery", delivery.id),
            ("Keyward-Signature", WebhookService.signature(secret: secret, timestamp: Int(clock.now().timeIntervalSince1970), body: body)),
        ]
        switch await sender.send(url: url, headers: headers, body: body) {
        case .delivered: return nil
        case .failed(let reason): return reason
        }
    }
}
