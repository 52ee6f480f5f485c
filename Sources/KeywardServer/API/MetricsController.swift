import Foundation
import HTTPTypes
import Hummingbird
import KeywardCore
import KeywardCrypto

/// `/metrics` in Prometheus text format, named like cert-manager's: each certificate's expiry (one
/// series per channel using it) and renewal errors per channel. Read from the database, so every
/// instance reports the same truth. A bearer token guards it when `metrics_token` is set; otherwise only
/// loopback clients may scrape.
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
        let rows = try await certificates.expiryRows()
        var out = """
            # HELP keyward_certificate_expiration_timestamp_seconds The date after which the certificate expires, as a Unix timestamp.
            # TYPE keyward_certificate_expiration_timestamp_seconds gauge

            """
        out.reserveCapacity(rows.count * 300)
        let labels = rows.map {
            "merchant=\"\(Self.escape($0.merchantID))\",channel=\"\(Self.escape($0.channelID ?? ""))\",type=\"\(Self.escape($0.type))\",serial=\"\(Self.escape($0.serial))\""
        }
        for (row, label) in zip(rows, labels) {
            out += "keyward_certificate_expiration_timestamp_seconds{\(label)} \(Int64(row.notAfter.timeIntervalSince1970))\n"
        }
        out += """
            # HELP keyward_certificate_expiry_state 1 for the certificate's expiry state now: valid, expiring (28 days or less), critical (14), expired.
            # TYPE keyward_certificate_expiry_state gauge

            """
        let now = clock.now()
        for (row, label) in zip(rows, labels) {
            out += "keyward_certificate_expiry_state{\(label),state=\"\(CertificateStatus(notAfter: row.notAfter, now: now).rawValue)\"} 1\n"
        }
        out += """
            # HELP keyward_certificate_renewal_errors_total Failed ACME orders and renewals per channel.
            # TYPE keyward_certificate_renewal_errors_total counter

            """
        for count in try await issuance.renewalErrorCounts() {
            out += "keyward_certificate_renewal_errors_total{merchant=\"\(Self.escape(count.merchantID))\",channel=\"\(Self.escape(count.channelID))\"} \(count.count)\n"
        }
        return out
    }

    static func isLoopback(_ address: [UInt8]?) -> Bool {
        guard let address else { return false }
        if address.count == 4 { return address[0] == 127 }
        return address == Array(repeating: 0, count: 15) + [1] || (address.count == 16 && address[0..<12] == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff] && address[12] == 127)
    }

    static func escape(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
    }
}
