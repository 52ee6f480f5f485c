import Foundation
import Hummingbird
import KeywardCore

/// "Check now" on a channel's page: checks its domains at once (DNS TXT, then HTTP) and shows the
/// page again with the outcome. Needs `certificates.write` (and `keys.live` for a live channel).
extension CabinetController {
    func addDomainVerificationRoutes(to cabinet: CabinetRoutes) {
        cabinet.post("channels/:id/verify", .needs(.write(.certificates))) { _, context -> Response in
            let (principal, mode) = (context.principal, context.mode)
            let id = try context.parameters.require("id")
            _ = try await services.domainVerifications.checkChannel(
                merchantID: principal.merchant.id,
                mode: mode,
                channelID: id,
                actor: principal.auditActor
            )
            await recordChange(
                merchantID: principal.merchant.id,
                mode: mode,
                actor: principal.auditActor,
                action: .channelVerifyDomains,
                targetID: id
            )
            return .redirect(to: "/cabinet/channels/\(id)?mode=\(mode.rawValue)#verification", type: .normal)
        }
    }
}

/// One domain's row in the channel page's verification table.
struct DomainVerificationView: Sendable {
    let domain: String
    /// The Unicode spelling (the stored A-label is shown under it when they differ).
    let display: String
    let punycode: Bool
    let status: String
    let badge: String
    let method: String?
    let lastChecked: String?
    let lastError: String?
    let txtName: String
    let token: String
    let httpURL: String?

    init(_ verification: DomainVerification) {
        domain = verification.domain
        display = DomainName.display(verification.domain)
        punycode = display != verification.domain
        status = verification.status.rawValue
        badge =
            switch verification.status {
            case .verified: "ok"
            case .pending: "expiring"
            case .failed: "critical"
            }
        method = verification.method?.rawValue
        lastChecked = verification.lastCheckedAt.map(CabinetDates.minute)
        lastError = verification.lastError
        txtName = verification.txtName
        token = verification.token
        httpURL = verification.httpURL
    }
}
