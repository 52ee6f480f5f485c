import Foundation
import HTTPTypes
import Hummingbird
import KeywardCore
import KeywardCrypto
import Prometheus

/// `/metrics` in Prometheus text format, named like cert-manager's: each certificate's expiry (one
/// series per channel using it) and renewal errors per channel. Read from the database, so every
/// instance reports the same truth. A bearer token guards it when `metrics_token` is set; otherwise only
/// loopback clients may scrape.
///
/// The exposition (HELP and TYPE lines, label escaping, number formatting) is swift-prometheus's
/// (`PrometheusCollectorRegistry`), not ours. A fresh registry is filled from the database on each scrape
/// rather than kept and updated in place, so a deleted certificate or channel stops being reported at
/// once. Hand-written here: only the queries, the labels and the guard. Unlike the old text, a family with
/// no series (no certificates yet) is left out rather than printed as bare HELP/TYPE lines, and gauges are
/// printed as the library prints doubles (`1767225600.0`, `1.0`); both are the same to Prometheus.
struct MetricsController {
    let certificates: CertificateService
    let issuance: ChannelIssuance
    let clock: KeywardClock
    let token: String?

    func addRoutes(to router: Router<KeywardRequestContext>) {
        router.get("metrics") { request, context in
            if let token {
                let given = request.headers[.authorization].map { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : "" } ?? ""
                guard ConstantTime.equals(Array(given.utf8), Array(token.utf8)) else {
                    throw KeywardError(.unauthenticated, .metricsTokenRequired, "Send the metrics token as 'Authorization: Bearer <token>'.")
                }
            } else if !Self.isLoopback(context.clientAddress) {
                throw KeywardError(.forbidden, .metricsForbidden, "Set metrics_token to scrape /metrics from another host.")
            }
            return WellKnownController.text(try await render(), contentType: "text/plain; version=0.0.4; charset=utf-8")
        }
    }

    func render() async throws -> String {
        let expiration = MetricNameDescriptor(
            namespace: "keyward",
            subsystem: "certificate",
            metricName: "expiration_timestamp",
            unitName: "seconds",
            helpText: "The date after which the certificate expires, as a Unix timestamp."
        )
        let state = MetricNameDescriptor(
            namespace: "keyward",
            subsystem: "certificate",
            metricName: "expiry_state",
            unitName: "",
            helpText: "1 for the certificate's expiry state now: valid, expiring (28 days or less), critical (14), expired."
        )
        let renewalErrors = MetricNameDescriptor(
            namespace: "keyward",
            subsystem: "certificate",
            metricName: "renewal_errors",
            unitName: "total",
            helpText: "Failed ACME orders and renewals per channel."
        )
        let registry = PrometheusCollectorRegistry()
        let now = clock.now()
        for row in try await certificates.expiryRows() {
            let labels = [("merchant", row.merchantID), ("channel", row.channelID ?? ""), ("type", row.type), ("serial", row.serial)]
            registry.makeGauge(descriptor: expiration, labels: labels).set(to: Double(Int64(row.notAfter.timeIntervalSince1970)))
            registry.makeGauge(descriptor: state, labels: labels + [("state", CertificateStatus(notAfter: row.notAfter, now: now).rawValue)]).set(
                to: 1
            )
        }
        for count in try await issuance.renewalErrorCounts() {
            registry.makeCounter(descriptor: renewalErrors, labels: [("merchant", count.merchantID), ("channel", count.channelID)]).increment(
                by: Int64(count.count)
            )
        }
        return registry.emitToString()
    }

    static func isLoopback(_ address: [UInt8]?) -> Bool {
        guard let address else { return false }
        if address.count == 4 { return address[0] == 127 }
        return address == Array(repeating: 0, count: 15) + [1]
            || (address.count == 16 && address[0..<12] == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff] && address[12] == 127)
    }
}
