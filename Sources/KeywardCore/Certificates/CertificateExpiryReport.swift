import Foundation

/// One certificate as the expiry metrics report it: a row per sales channel that uses it, or one row
/// without a channel when none does.
public struct CertificateExpiryRow: Sendable, Equatable {
    public let merchantID: String
    public let type: String
    public let serial: String
    public let notAfter: Date
    public let channelID: String?
}

extension CertificateService {
    /// Every certificate of every merchant with the channels using it, by merchant and certificate: what
    /// `/metrics` turns into `keyward_certificate_expiration_timestamp_seconds` and `…_expiry_state`.
    public func expiryRows() async throws -> [CertificateExpiryRow] {
        struct Row: Decodable {
            let merchant_id: String
            let type: String
            let serial: String
            let not_after_ms: Int64
            let channel_id: String?
        }
        return try await store.sql.raw(
            """
            SELECT c.merchant_id, c.type, c.serial, c.not_after_ms, s.id AS channel_id FROM certificates c
            LEFT JOIN sales_channels s ON s.certificate_id = c.id ORDER BY c.merchant_id, c.id
            """
        ).all(decoding: Row.self).map {
            CertificateExpiryRow(
                merchantID: $0.merchant_id,
                type: $0.type,
                serial: $0.serial,
                notAfter: Date(millis: $0.not_after_ms),
                channelID: $0.channel_id
            )
        }
    }
}
