import Foundation
import Hummingbird
import KeywardCore
import KeywardCrypto

/// The Settings page (settings.write): the rotation period that flags old keys, the merchant-wide IP
/// allowlist for API calls, the overlap of a leaked test key, and the webhook endpoint (its signing
/// secret shown once).
extension CabinetController {
    func addSettingsRoutes(to cabinet: CabinetRoutes) {
        cabinet.get("settings", .needs(.write(.settings, scope: .merchant))) { _, context -> Response in
            try await settingsPage(context, message: nil, notice: nil, status: .ok)
        }
        cabinet.post("settings", .needs(.write(.settings, scope: .merchant))) { _, context -> Response in
            let (principal, form) = (context.principal, context.form)
            let networks = (form["allowed_ips"] ?? "").split(whereSeparator: { $0.isNewline || $0 == "," })
                .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            guard let days = Int((form["rotation_days"] ?? "").trimmingCharacters(in: .whitespaces)) else {
                return try await settingsPage(
                    context,
                    message: "The rotation period is a number of days (7 to 730).",
                    notice: nil,
                    status: .badRequest
                )
            }
            // Absent from an older form: left as it is.
            let graceText = form["leaked_test_key_grace_seconds"].map { $0.trimmingCharacters(in: .whitespaces) }
            let grace = graceText.flatMap { $0.isEmpty ? 0 : Int($0) }
            if graceText != nil, grace == nil {
                return try await settingsPage(
                    context,
                    message: "The overlap of a leaked test key is a number of seconds (0 to 3600).",
                    notice: nil,
                    status: .badRequest
                )
            }
            do {
                _ = try await audited(context, .settingsChange, mode: nil) {
                    try await services.merchantSettings.update(
                        merchantID: principal.merchant.id,
                        rotationDays: days,
                        allowedIPs: networks,
                        leakedTestKeyGraceSeconds: grace
                    )
                }
            } catch let error as KeywardError where error.kind == .invalidInput {
                return try await settingsPage(context, message: error.message, notice: nil, status: .badRequest)
            }
            return try await settingsPage(context, message: nil, notice: "Settings saved.", status: .ok)
        }
        cabinet.post("settings/webhook", .needs(.write(.settings, scope: .merchant))) { _, context -> Response in
            let (principal, form) = (context.principal, context.form)
            let secret: String
            do {
                secret = try await audited(context, .webhookSet, mode: nil) {
                    try await services.webhooks.setEndpoint(
                        merchantID: principal.merchant.id,
                        url: (form["url"] ?? "").trimmingCharacters(in: .whitespaces)
                    ).secret
                }
            } catch let error as KeywardError where error.kind == .invalidInput {
                return try await settingsPage(context, message: error.message, notice: nil, status: .badRequest)
            }
            return try await settingsPage(
                context,
                message: nil,
                notice: "Webhook saved. Verify deliveries with the signing secret below.",
                status: .ok,
                webhookSecret: secret
            )
        }
        addPasskeySettingRoutes(to: cabinet)
        cabinet.post("settings/webhook/delete", .needs(.write(.settings, scope: .merchant))) { _, context -> Response in
            let principal = context.principal
            try await audited(context, .webhookRemove, mode: nil) { try await services.webhooks.deleteEndpoint(merchantID: principal.merchant.id) }
            return try await settingsPage(context, message: nil, notice: "Webhook removed.", status: .ok)
        }
    }

    func settingsPage(
        _ context: CabinetContext,
        message: String?,
        notice: String?,
        status: HTTPResponse.Status,
        webhookSecret: String? = nil
    ) async throws -> Response {
        let principal = context.principal
        let settings = try await services.merchantSettings.get(merchantID: principal.merchant.id)
        let limits = try await services.rateLimits.list(merchantID: principal.merchant.id)
        func merchantQuota(_ mode: Mode) -> Int {
            limits.first { $0.subject == "merchant" && $0.mode == mode }?.quota ?? services.rateLimits.defaultPolicy(mode).quota
        }
        var view = CabinetPage(context, title: "Settings", message: message)
        view.notice = notice
        view.settings = SettingsView(
            rotationDays: settings.rotationDays,
            allowedIPs: settings.allowedIPs.map(\.description).joined(separator: "\n"),
            leakedTestKeyGraceSeconds: settings.leakedTestKeyGraceSeconds,
            webhookURL: try await services.webhooks.endpoint(merchantID: principal.merchant.id)?.url,
            webhookSecret: webhookSecret,
            liveQuota: merchantQuota(.live),
            testQuota: merchantQuota(.test),
            credentialLimitRowsHTML: Self.credentialLimitRows(limits.filter { $0.subject != "merchant" }, csrf: view.csrf)
        )
        view.settings?.passkeysRequired = settings.passkeysRequired
        view.settings?.ownerMayRequirePasskeys = principal.role == .builtIn(.owner)
        view.banner = try await banner(merchantID: principal.merchant.id, now: services.clock.now())
        return try page("settings", view, status: status)
    }
}

struct SettingsView: Sendable {
    let rotationDays: Int
    let allowedIPs: String
    let leakedTestKeyGraceSeconds: Int
    let webhookURL: String?
    let webhookSecret: String?
    /// Merchant-wide requests a second, per mode (set or default).
    let liveQuota: Int
    let testQuota: Int
    /// Credentials with a limit of their own, escaped rows with their remove buttons.
    let credentialLimitRowsHTML: String
    var passkeysRequired = false
    /// Only an owner changes the passkey requirement.
    var ownerMayRequirePasskeys = false
}

/// Which main pages the member's role may open (the others are left out of the navigation).
struct NavigationLinks: Sendable {
    var keys = false, certificates = false, team = false, audit = false, settings = false

    init(_ permissions: Set<Permission>) {
        keys = permissions.contains(.keysRead)
        certificates = permissions.contains(.certificatesRead)
        team = permissions.contains(.teamManage)
        audit = permissions.contains(.auditRead)
        settings = permissions.contains(.settingsWrite)
    }

    init() {}
}
