import Foundation
import Hummingbird
import KeywardCore

/// `/v1/manage/channels`: sales channels (domains + SSL mode), their status and history, manual renewal;
/// `/v1/manage/webhook` and `/v1/manage/apple-pay/domain-association`.
struct ChannelController {
    let channels: SalesChannelService
    let certificates: CertificateService
    let webhooks: WebhookService
    let associations: DomainAssociationService
    let verifications: DomainVerificationService
    let clock: KeywardClock

    func addRoutes(to manage: ManageRoutes) {
        manage.post("channels", needs: .write(.certificates)) { request, context in
            let key = context.principal
            let body = try await JSONBody.decode(CreateChannelBody.self, from: request)
            guard let mode = SSLMode(rawValue: body.ssl_mode) else {
                throw KeywardError(.invalidInput, .invalidField, "'ssl_mode' is 'managed' (ACME) or 'uploaded'.", field: "ssl_mode")
            }
            let channel = try await channels.create(
                merchantID: key.merchantID,
                mode: key.mode,
                name: body.name,
                domains: body.domains,
                sslMode: mode,
                certificateID: body.certificate_id
            )
            return try JSONResponse.make(try await resource(channel, detailed: true), status: .created)
        }
        manage.get("channels", needs: .read(.certificates)) { _, context in
            let key = context.principal
            var data: [ChannelResource] = []
            for channel in try await channels.list(merchantID: key.merchantID, mode: key.mode) {
                data.append(try await resource(channel, detailed: false))
            }
            return try JSONResponse.make(ListResource(data: data, has_more: data.count == 1000))
        }
        manage.get("channels/:id", needs: .read(.certificates)) { _, context in
            let key = context.principal
            let channel = try await channels.get(merchantID: key.merchantID, mode: key.mode, id: try context.parameters.require("id"))
            return try JSONResponse.make(try await resource(channel, detailed: true))
        }
        manage.post("channels/:id/renew", needs: .write(.certificates)) { _, context in
            let key = context.principal
            let channel = try await channels.requestRenewal(merchantID: key.merchantID, mode: key.mode, id: try context.parameters.require("id"))
            return try JSONResponse.make(try await resource(channel, detailed: true), status: .accepted)
        }
        manage.delete("channels/:id", needs: .write(.certificates)) { _, context in
            let key = context.principal
            try await channels.delete(merchantID: key.merchantID, mode: key.mode, id: try context.parameters.require("id"))
            return Response(status: .noContent)
        }
        manage.put("webhook", needs: .write(.settings, scope: .merchant)) { request, context in
            let key = context.principal
            let body = try await JSONBody.decode(WebhookBody.self, from: request)
            let (endpoint, secret) = try await webhooks.setEndpoint(merchantID: key.merchantID, url: body.url)
            return try JSONResponse.make(
                WebhookResource(id: endpoint.id, url: endpoint.url, secret: secret, created_at: Timestamp.format(endpoint.createdAt)),
                status: .created
            )
        }
        manage.get("webhook", needs: .read(.settings, scope: .merchant)) { _, context in
            let key = context.principal
            guard let endpoint = try await webhooks.endpoint(merchantID: key.merchantID) else {
                throw KeywardError(.notFound, .resourceMissing, "No webhook endpoint is set; PUT one with {\"url\": ...}.")
            }
            return try JSONResponse.make(
                WebhookResource(id: endpoint.id, url: endpoint.url, secret: nil, created_at: Timestamp.format(endpoint.createdAt))
            )
        }
        manage.get("webhook/deliveries", needs: .read(.settings, scope: .merchant)) { _, context in
            let key = context.principal
            let data = try await webhooks.deliveries(merchantID: key.merchantID).map {
                DeliveryResource(
                    id: $0.id,
                    event_type: $0.eventType,
                    status: $0.status,
                    attempts: $0.attempts,
                    last_error: $0.lastError,
                    payload: $0.payload
                )
            }
            return try JSONResponse.make(ListResource(data: data, has_more: data.count == 50))
        }
        manage.delete("webhook", needs: .write(.settings, scope: .merchant)) { _, context in
            try await webhooks.deleteEndpoint(merchantID: context.principal.merchantID)
            return Response(status: .noContent)
        }
        manage.put("apple-pay/domain-association", needs: .write(.certificates, scope: .merchant)) { request, context in
            let key = context.principal
            let buffer = try await request.body.collect(upTo: DomainAssociationService.maximumBytes + 1)
            try await associations.set(merchantID: key.merchantID, content: Array(buffer: buffer))
            return Response(status: .noContent)
        }
        manage.delete("apple-pay/domain-association", needs: .write(.certificates, scope: .merchant)) { _, context in
            try await associations.delete(merchantID: context.principal.merchantID)
            return Response(status: .noContent)
        }
    }

    func resource(_ channel: SalesChannelInfo, detailed: Bool) async throws -> ChannelResource {
        let now = clock.now()
        let certificate = try? await channel.certificateID.asyncMap {
            try await certificates.get(merchantID: channel.merchantID, mode: channel.mode, id: $0)
        }
        var warnings: [String] = []
        if let certificate, certificate.status(at: now) != .valid {
            warnings.append(
                "The certificate \(certificate.status(at: now) == .expired ? "has expired" : "expires in \(certificate.daysLeft(at: now)) days")."
            )
            if try await associations.exists(merchantID: channel.merchantID) {
                warnings.append(
                    "Apple Pay's domain verification lapses when the domain's TLS certificate expires: renew it before \(Timestamp.format(certificate.notAfter) ?? "it expires")."
                )
            }
        }
        let events =
            detailed
            ? try await channels.events(channelID: channel.id).map { EventResource(at: Timestamp.format($0.at), kind: $0.kind, message: $0.message) }
            : nil
        return ChannelResource(
            id: channel.id,
            name: channel.name,
            mode: channel.mode.rawValue,
            domains: channel.domains,
            ssl_mode: channel.sslMode.rawValue,
            status: channel.status,
            status_detail: channel.statusDetail,
            failures: channel.failures,
            next_attempt_at: channel.sslMode == .managed ? channel.nextAttempt.flatMap(Timestamp.format) : nil,
            renew_at: channel.renewAt.flatMap(Timestamp.format),
            certificate: certificate.map { CertificateResource($0, now: now) },
            warnings: warnings,
            events: events,
            domain_verification: try await verifications.records(merchantID: channel.merchantID, domains: channel.domains).map(
                DomainVerificationResource.init
            ),
            created_at: Timestamp.format(channel.createdAt)
        )
    }
}

struct CreateChannelBody: StrictJSONBody {
    static let fields: Set<String> = ["name", "domains", "ssl_mode", "certificate_id"]
    let name: String
    let domains: [String]
    let ssl_mode: String
    let certificate_id: String?
}

struct WebhookBody: StrictJSONBody {
    static let fields: Set<String> = ["url"]
    let url: String
}

struct ChannelResource: Encodable {
    let object = "sales_channel"
    let id: String
    let name: String
    let mode: String
    let domains: [String]
    let ssl_mode: String
    let status: String
    let status_detail: String
    let failures: Int
    let next_attempt_at: String?
    let renew_at: String?
    let certificate: CertificateResource?
    let warnings: [String]
    let events: [EventResource]?
    /// Each domain's verification and what to publish to prove control.
    let domain_verification: [DomainVerificationResource]
    let created_at: String?
}

struct EventResource: Encodable {
    let at: String?
    let kind: String
    let message: String
}

struct WebhookResource: Encodable {
    let object = "webhook_endpoint"
    let id: String
    let url: String
    /// Only in the answer that created it.
    let secret: String?
    let created_at: String?
}

struct DeliveryResource: Encodable {
    let object = "webhook_delivery"
    let id: String
    let event_type: String
    let status: String
    let attempts: Int
    let last_error: String?
    let payload: String
}
