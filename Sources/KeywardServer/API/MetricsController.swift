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
    let store: KeywardStore
    let issuance: ChannelIssuance
    let clock: KeywardClock
    let token: String?

    func addRoutes(to router: Router<KeywardRequestContext>) {
        router.get("metrics") { request, context in
            if let token {
                let given = request.headers[.authorization].map { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : "" } ?? ""
                guard ConstantTime.equals(Array(given.utf8), Array(token.utf8)) else {
                    throw KeywardError(.unauthenticated, "metrics_token_required", "Send the metrics token as 'Authorization: Bearer <token>'.")
                }
            } else if !Self.isLoopback(context.clientAddress) {
                throw KeywardError(.forbidden, "metrics_forbidden", "Set metrics_token to scrape /metrics from another host.")
            }
            return WellKnownController.text(try await render(), contentType: "text/plain; version=0.0.4; charset=utf-8")
        }
    }

    func render() async throws -> String {
        struct Row: Decodable {
            let merchant_id: String; let type: String; let serial: String; let not_after_ms: Int64; let channel_id: String?
        }
        let rows = try await store.sql.raw("""
            SELECT c.merchant_id, c.type, c.serial, c.not_after_ms, s.id AS channel_id FROM certificates c
            LEFT JOIN sales_channels s ON s.certificate_id = c.id ORDER BY c.merchant_id, c.id
            """).all(decoding: Row.self)
        var out = """
            # HELP keyward_certificate_expiration_timestamp_seconds The date after which the certificate expires, as a Unix timestamp.
            # TYPE keyward_certificate_expiration_timestamp_seconds gauge

            """
        out.reserveCapacity(rows.count * 300)
        let labels = rows.map {
            "merchant=\"\(Self.escape($0.merchant_id))\",channel=\"\(Self.escape($0.channel_id ?? ""))\",type=\"\(Self.escape($0.type))\",serial=\"\(Self.escape($0.serial))\""
        }
        for (row, label) in zip(rows, labels) {
            out += "keyward_certificate_expiration_timestamp_seconds{\(label)} \(row.not_after_ms / 1000)\n"
        }
        out += """
            # HELP keyward_certificate_expiry_state 1 for the certificate's expiry state now: valid, expiring (28 days or less), critical (14), expired.
            # TYPE keyward_certificate_expiry_state gauge

            """
        let now = clock.now()
        for (row, label) in zip(rows, labels) {
            out += "keyward_certificate_expiry_state{\(label),state=\"\(CertificateStatus(notAfter: Date(timeIntervalSince1970: Double(row.not_after_ms) / 1000), now: now).rawValue)\"} 1\n"
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
