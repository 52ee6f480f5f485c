import Foundation
import Hummingbird
import KeywardCore
import KeywardCrypto

extension CabinetPrincipal {
    var auditActor: AuditActor { AuditActor(type: "user", id: user.id, address: nil) }
}

/// The Keys page: secret keys per mode; generate (shown once), roll with a chosen overlap (a live key
/// only with a fresh second-factor code), revoke after confirming; keys older than the merchant's
/// rotation period are flagged.
extension CabinetController {
    /// The overlaps offered when rolling, in seconds (the API accepts any value up to 7 days).
    static let overlapChoices: [(seconds: Int, label: String)] = [
        (0, "none: the old key stops now"), (3600, "1 hour"), (86400, "24 hours"), (604_800, "7 days"),
    ]

    func addKeyRoutes(to cabinet: CabinetRoutes) {
        cabinet.get("keys", .needs(.read(.credentials))) { _, context -> Response in
            let principal = context.principal
            let mode = context.mode
            let now = services.clock.now()
            let rotationDays = try await services.merchantSettings.get(merchantID: principal.merchant.id).rotationDays
            var view = CabinetPage(context, title: "Keys")
            view.mode = mode.rawValue
            view.canWrite = context.may(.write(.credentials))
            view.grantable = principal.role.permissions.sorted().map(\.rawValue)
            view.canMintUnrestricted = principal.role.permissions == Set(Permission.allCases)
            view.modes = Mode.allCases.filter { context.may(.read(.credentials), mode: $0) }
                .map { ModeLink(name: $0.rawValue, title: $0 == .live ? "Live" : "Test", current: $0 == mode) }
            view.keys = try await services.secretKeys.list(merchantID: principal.merchant.id, mode: mode, limit: 1000).map { key in
                let status = key.status(at: now)
                return KeyRow(
                    id: key.id,
                    name: key.name,
                    prefix: key.prefix,
                    last4: key.last4,
                    status: status.rawValue,
                    created: CabinetDates.day(key.createdAt),
                    lastUsed: key.lastUsedAt.map(CabinetDates.minute) ?? "never",
                    expires: key.expiresAt.map(CabinetDates.minute) ?? "",
                    stale: status == .active && now.timeIntervalSince(key.createdAt) > Double(rotationDays) * 86400,
                    rotationDays: rotationDays,
                    rollable: view.canWrite && status == .active,
                    revocable: view.canWrite && status != .revoked,
                    mode: mode.rawValue,
                    scope: Self.describe(CredentialLimits(permissions: key.permissions, allowedIPs: key.allowedIPs))
                )
            }
            view.credentialsHTML = try await credentialSections(
                merchantID: principal.merchant.id,
                mode: mode,
                canWrite: view.canWrite,
                csrf: view.csrf,
                now: now
            )
            view.banner = try await banner(merchantID: principal.merchant.id, now: now)
            return try page("keys", view)
        }
        cabinet.post("keys", .needs(.write(.credentials))) { request, context -> Response in
            let (principal, form, mode) = (context.principal, context.form, context.mode)
            let limits = try Self.requestedLimits(form)
            let created = try await audited(context, .secretKeyCreate, mode: mode) {
                try await services.secretKeys.create(
                    merchantID: principal.merchant.id,
                    mode: mode,
                    options: .init(name: form["name"], permissions: limits.permissions, allowedIPs: limits.allowedIPs),
                    by: .member(principal.role)
                )
            }
            return try keyCreatedPage(context, request, created, replacing: nil)
        }
        for action in [KeyAction.roll, .revoke] {
            cabinet.get("keys/:id/\(action.rawValue)", .needs(.write(.credentials))) { _, context -> Response in
                let key = try await services.secretKeys.get(
                    merchantID: context.principal.merchant.id,
                    mode: context.mode,
                    id: try context.parameters.require("id")
                )
                return try keyActionPage(context, key, action: action, message: nil, status: .ok)
            }
        }
        cabinet.post("keys/:id/revoke", .needs(.write(.credentials))) { _, context -> Response in
            let (principal, mode) = (context.principal, context.mode)
            let id = try context.parameters.require("id")
            _ = try await audited(context, .secretKeyRevoke, mode: mode, target: id) {
                try await services.secretKeys.revoke(merchantID: principal.merchant.id, mode: mode, id: id)
            }
            return .redirect(to: "/cabinet/keys?mode=\(mode.rawValue)", type: .normal)
        }
        cabinet.post("keys/:id/roll", .needs(.write(.credentials))) { request, context -> Response in
            let (principal, form, mode) = (context.principal, context.form, context.mode)
            let key = try await services.secretKeys.get(merchantID: principal.merchant.id, mode: mode, id: try context.parameters.require("id"))
            let overlap: Int
            switch try await rollChoice(form, mode: mode, principal: principal) {
            case .success(let chosen): overlap = chosen
            case .failure(let refusal):
                return try keyActionPage(
                    context,
                    key,
                    action: .roll,
                    message: refusal.message,
                    status: refusal.kind == .invalidInput ? .badRequest : .unauthorized
                )
            }
            let created = try await audited(context, .secretKeyRoll, mode: mode) {
                try await services.secretKeys.roll(
                    merchantID: principal.merchant.id,
                    mode: mode,
                    id: key.id,
                    overlapSeconds: overlap,
                    by: .member(principal.role)
                )
            }
            let until =
                overlap == 0
                ? "The old key \(key.prefix)…\(key.last4) stopped working now."
                : "The old key \(key.prefix)…\(key.last4) keeps working until \(CabinetDates.minute(services.clock.now().addingTimeInterval(TimeInterval(overlap)))) UTC."
            return try keyCreatedPage(context, request, created, replacing: until)
        }
    }

    func keyCreatedPage(_ context: CabinetContext, _ request: Request, _ created: CreatedSecretKey, replacing: String?) throws -> Response {
        var view = CabinetPage(context, title: "Key created")
        view.secret = created.secret
        view.mode = created.info.mode.rawValue
        view.notice = replacing
        view.baseURL = services.settings.publicBaseURL
        return try page("key-created", view, status: .created)
    }

    func keyActionPage(
        _ context: CabinetContext,
        _ key: SecretKeyInfo,
        action: KeyAction,
        message: String?,
        status: HTTPResponse.Status
    ) throws -> Response {
        try keyActionPage(
            context,
            id: key.id,
            name: key.name,
            masked: "\(key.prefix)…\(key.last4)",
            mode: key.mode,
            lastUsed: key.lastUsedAt,
            action: action,
            actionURL: "/cabinet/keys/\(key.id)/\(action.rawValue)",
            message: message,
            status: status
        )
    }

    /// The confirmation page of rolling or revoking a key (secret or payment key).
    func keyActionPage(
        _ context: CabinetContext,
        id: String,
        name: String,
        masked: String,
        mode: Mode,
        lastUsed: Date?,
        action: KeyAction,
        actionURL: String,
        message: String?,
        status: HTTPResponse.Status
    ) throws -> Response {
        var view = CabinetPage(context, title: action == .roll ? "Roll \(name)" : "Revoke \(name)", message: message)
        view.keyAction = KeyActionView(
            id: id,
            name: name,
            masked: masked,
            mode: mode.rawValue,
            lastUsed: lastUsed.map(CabinetDates.minute) ?? "never",
            isRoll: action == .roll,
            needsCode: action == .roll && mode == .live,
            actionURL: actionURL,
            overlaps: Self.overlapChoices.map { OverlapOption(seconds: $0.seconds, label: $0.label, chosen: $0.seconds == 86400) }
        )
        return try page("key-action", view, status: status)
    }

    /// Rolling hands out a new secret: the overlap must be one offered, and a live key takes a fresh
    /// second-factor code. Answers the overlap, or the reason to show on the confirmation page.
    func rollChoice(_ form: [String: String], mode: Mode, principal: CabinetPrincipal) async throws -> Result<Int, KeywardError> {
        guard let overlap = Int(form["overlap"] ?? ""), Self.overlapChoices.contains(where: { $0.seconds == overlap }) else {
            return .failure(KeywardError(.invalidInput, .invalidOverlap, "Choose how long the old key keeps working."))
        }
        if mode == .live {
            do { try await services.accounts.verifySecondFactor(userID: principal.user.id, code: form["code"] ?? "") } catch let error as KeywardError
                where [.invalidCode, .totpRequired].contains(error.code)
            {
                return .failure(error)
            }
        }
        return .success(overlap)
    }

    /// The limits a credential form asks for: unrestricted unless "restricted" was chosen, in which case
    /// the ticked permissions plus the API scopes typed; the IP allowlist either way.
    static func requestedLimits(_ form: [String: String]) throws -> RequestedLimits {
        func list(_ text: String?) -> [String] {
            (text ?? "").split(whereSeparator: { $0 == "," || $0.isWhitespace }).map(String.init)
        }
        let networks = list(form["allowed_ips"])
        let allowedIPs = networks.isEmpty ? nil : networks
        guard form["access"] == "restricted" else { return RequestedLimits(permissions: nil, allowedIPs: allowedIPs) }
        let chosen =
            form.filter { $0.key.hasPrefix("permission.") && $0.value == "on" }.map { String($0.key.dropFirst("permission.".count)) }
            + list(form["scopes"])
        guard !chosen.isEmpty else {
            throw KeywardError(
                .invalidInput,
                .invalidPermissions,
                "Choose at least one permission or API scope, or make the key unrestricted.",
                field: "permissions"
            )
        }
        return RequestedLimits(permissions: chosen, allowedIPs: allowedIPs)
    }

    /// "may do everything, from anywhere" / "may: keys.read, payments.write; from 10.0.0.0/8".
    static func describe(_ limits: CredentialLimits) -> String {
        let what = limits.permissions.map { $0.isEmpty ? "may do nothing" : "may: " + $0.joined(separator: ", ") } ?? "may do everything"
        let from = limits.allowedIPs.isEmpty ? "from anywhere" : "from " + limits.allowedIPs.map(\.description).joined(separator: ", ")
        return "\(what); \(from)"
    }

    static func mode(_ text: String?) throws -> Mode {
        guard let text else { return .test }
        guard let mode = Mode(rawValue: text) else { throw KeywardError(.invalidInput, .invalidField, "Mode is test or live.", field: "mode") }
        return mode
    }
}

enum KeyAction: String {
    case roll, revoke
}

struct ModeLink: Sendable {
    let name: String
    let title: String
    let current: Bool
}

struct KeyRow: Sendable {
    let id: String
    let name: String
    let prefix: String
    let last4: String
    let status: String
    let created: String
    let lastUsed: String
    let expires: String
    let stale: Bool
    let rotationDays: Int
    let rollable: Bool
    let revocable: Bool
    let mode: String
    /// What the key may do and from where, in words.
    let scope: String
}

/// The confirmation page of a roll or a revocation.
struct KeyActionView: Sendable {
    let id: String, name: String, masked: String, mode: String, lastUsed: String
    let isRoll: Bool
    let needsCode: Bool
    /// Where the confirmed form posts.
    let actionURL: String
    let overlaps: [OverlapOption]
}

struct OverlapOption: Sendable { let seconds: Int, label: String, chosen: Bool }
