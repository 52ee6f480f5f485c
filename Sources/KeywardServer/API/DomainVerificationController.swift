import Foundation
import Hummingbird
import KeywardCore

/// `POST /v1/manage/channels/:id/verify`: checks the channel's domains now (DNS TXT, then HTTP) and
/// answers the channel with each domain's verification. Needs `certificates.write` (and `keys.live`
/// in live mode), like every change to channels. There is no way for an API caller to skip the check:
/// only an operator's CLI can vouch for a domain.
struct DomainVerificationController {
    let verifications: DomainVerificationService
    let channels: ChannelController

    func addRoutes(to manage: ManageRoutes) {
        manage.post("channels/:id/verify", needs: .write(.certificates)) { request, context in
            let key = context.principal
            _ = try await JSONBody.decode(EmptyBody.self, from: request)
            let id = try context.parameters.require("id")
            let actor = context.auditActor
            _ = try await verifications.checkChannel(merchantID: key.merchantID, mode: key.mode, channelID: id, actor: actor)
            let channel = try await channels.channels.get(merchantID: key.merchantID, mode: key.mode, id: id)
            return try JSONResponse.make(try await channels.resource(channel, detailed: true))
        }
    }
}

/// One domain's verification in the channel resource: its state and what to publish.
struct DomainVerificationResource: Encodable {
    struct DNSRecord: Encodable {
        let type = "TXT"
        let name: String
        let value: String
    }
    struct HTTPFile: Encodable { let url: String, body: String }
    let domain: String
    /// The domain as people read it (Unicode), when it differs.
    let display_name: String
    let status: String
    let method: String?
    let failures: Int
    let last_error: String?
    let last_checked_at: String?
    let next_check_at: String?
    let verified_at: String?
    let dns: DNSRecord
    /// Nil for a wildcard: those are verified by DNS only.
    let http: HTTPFile?

    init(_ verification: DomainVerification) {
        domain = verification.domain
        display_name = DomainName.display(verification.domain)
        status = verification.status.rawValue
        method = verification.method?.rawValue
        failures = verification.failures
        last_error = verification.lastError
        last_checked_at = verification.lastCheckedAt.flatMap(Timestamp.format)
        next_check_at = verification.nextCheckAt.flatMap(Timestamp.format)
        verified_at = verification.verifiedAt.flatMap(Timestamp.format)
        dns = DNSRecord(name: verification.txtName, value: verification.token)
        http = verification.httpURL.map { HTTPFile(url: $0, body: verification.token) }
    }
}
