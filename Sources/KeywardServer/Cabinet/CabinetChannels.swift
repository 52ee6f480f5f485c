import Foundation
import Hummingbird
import KeywardCore
import KeywardCrypto

/// Sales channels on the Certificates page: their domains, SSL mode (managed by ACME or an uploaded
/// certificate) and status; a channel's page shows its ACME order history and reloads itself every
/// few seconds while an order is under way (no script needed).
extension CabinetController {
    func addChannelRoutes(to cabinet: CabinetRoutes) {
        cabinet.get("channels/new", .needs(.write(.certificates))) { _, context -> Response in
            try await newChannelPage(context, message: nil, status: .ok)
        }
        cabinet.post("channels", .needs(.write(.certificates))) { request, context -> Response in
            let (principal, form, mode) = (context.principal, context.form, context.mode)
            let domains = (form["domains"] ?? "").split(whereSeparator: { $0.isNewline || $0 == "," || $0 == " " }).map(String.init)
            let sslMode = SSLMode(rawValue: form["ssl_mode"] ?? "") ?? .managed
            let certificateID = form["certificate_id"].flatMap { $0.isEmpty ? nil : $0 }
            let channel: SalesChannelInfo
            do {
                channel = try await services.channels.create(
                    merchantID: principal.merchant.id,
                    mode: mode,
                    name: form["name"] ?? "",
                    domains: domains,
                    sslMode: sslMode,
                    certificateID: sslMode == .uploaded ? certificateID : nil
                )
            } catch let error as KeywardError where error.kind == .invalidInput || error.kind == .conflict || error.kind == .notFound {
                return try await newChannelPage(
                    context,
                    message: "The channel was not created: \(error.message) (\(error.code))",
                    status: .badRequest
                )
            }
            await recordChange(
                merchantID: principal.merchant.id,
                mode: mode,
                actor: principal.auditActor,
                action: .channelCreate,
                targetID: channel.id
            )
            return .redirect(to: "/cabinet/channels/\(channel.id)?mode=\(mode.rawValue)", type: .normal)
        }
        cabinet.get("channels/:id", .needs(.read(.certificates))) { _, context -> Response in
            let (principal, mode) = (context.principal, context.mode)
            let channel = try await services.channels.get(merchantID: principal.merchant.id, mode: mode, id: try context.parameters.require("id"))
            var view = CabinetPage(context, title: "Sales channel \(channel.name)")
            view.mode = mode.rawValue
            view.canWrite = context.may(.write(.certificates))
            view.channel = ChannelView(
                channel,
                now: services.clock.now(),
                events: try await services.channels.events(channelID: channel.id),
                verifications: try await services.domainVerifications.records(merchantID: channel.merchantID, domains: channel.domains),
                recheckHours: services.settings.verificationRecheckHours
            )
            if view.channel?.inProgress == true { view.refreshSeconds = 5 }
            view.banner = try await banner(merchantID: principal.merchant.id, now: services.clock.now())
            return try page("channel", view)
        }
        cabinet.post("channels/:id/renew", .needs(.write(.certificates))) { request, context -> Response in
            let (principal, mode) = (context.principal, context.mode)
            let channel = try await services.channels.requestRenewal(
                merchantID: principal.merchant.id,
                mode: mode,
                id: try context.parameters.require("id")
            )
            await recordChange(
                merchantID: principal.merchant.id,
                mode: mode,
                actor: principal.auditActor,
                action: .channelRenew,
                targetID: channel.id
            )
            return .redirect(to: "/cabinet/channels/\(channel.id)?mode=\(mode.rawValue)", type: .normal)
        }
        addDomainVerificationRoutes(to: cabinet)
    }

    /// The form for a new channel, with the uploaded TLS certificates it may use.
    func newChannelPage(_ context: CabinetContext, message: String?, status: HTTPResponse.Status) async throws -> Response {
        let principal = context.principal
        let now = services.clock.now()
        var view = CabinetPage(context, title: "New sales channel", message: message)
        var options = ""
        for mode in Mode.allCases {
            for info in try await services.certificates.list(merchantID: principal.merchant.id, mode: mode, limit: 1000, withPEM: false)
            where info.type == .ssl && info.status(at: now) != .expired {
                options +=
                    "<option value=\"\(HTML.escape(info.id))\">\(HTML.escape(info.name)) (\(mode.rawValue), \(info.daysLeft(at: now)) days)</option>"
            }
        }
        view.certificateOptionsHTML = options
        return try page("new-channel", view, status: status)
    }

    /// The channels rows of the Certificates page (escaped HTML).
    func channelRows(merchantID: String, modes: [Mode]) async throws -> String {
        let e = HTML.escape
        var html = ""
        for mode in modes {
            for channel in try await services.channels.list(merchantID: merchantID, mode: mode) {
                html +=
                    "<tr><td><a href=\"/cabinet/channels/\(e(channel.id))?mode=\(mode.rawValue)\">\(e(channel.name))</a></td><td>\(mode.rawValue)</td>"
                    + "<td>\(e(channel.domains.joined(separator: ", ")))</td><td>\(channel.sslMode == .managed ? "ACME (managed)" : "uploaded")</td>"
                    + "<td><strong class=\"badge-\(channel.status == "failed" ? "critical" : "ok")\">\(e(channel.status))</strong> \(e(channel.statusDetail))</td></tr>\n"
            }
        }
        return html
    }
}

/// A channel's page.
struct ChannelView: Sendable {
    struct Event: Sendable { let at: String, kind: String, message: String }
    let id: String, name: String, domains: String, managed: Bool, status: String, detail: String
    let nextAttempt: String?, renewAt: String?
    /// An order is under way or due: the page reloads itself to show progress.
    let inProgress: Bool
    let events: [Event]
    let verifications: [DomainVerificationView]
    let recheckHours: Int
    /// A managed channel whose domains are all verified may be renewed by hand.
    let renewable: Bool

    init(_ channel: SalesChannelInfo, now: Date, events: [ChannelEvent], verifications: [DomainVerification] = [], recheckHours: Int = 24) {
        id = channel.id
        name = channel.name
        domains = channel.domains.joined(separator: ", ")
        managed = channel.sslMode == .managed
        status = channel.status
        detail = channel.statusDetail
        nextAttempt = channel.nextAttempt.map(CabinetDates.minute)
        renewAt = channel.renewAt.map(CabinetDates.minute)
        // (A channel waiting for domain verification has no attempt planned: nothing to follow.)
        inProgress =
            managed && channel.nextAttempt != nil
            && (channel.status == "pending" || (channel.nextAttempt.map { $0 <= now.addingTimeInterval(60) } ?? false))
        self.events = events.map { Event(at: CabinetDates.minute($0.at), kind: $0.kind, message: $0.message) }
        self.verifications = verifications.map(DomainVerificationView.init)
        self.recheckHours = recheckHours
        renewable = managed && verifications.count == channel.domains.count && verifications.allSatisfy(\.isVerified)
    }
}
