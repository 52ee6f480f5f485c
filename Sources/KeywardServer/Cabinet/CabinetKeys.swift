import Foundation
import Hummingbird
import KeywardCore
import KeywardCrypto

extension CabinetPrincipal {
    /// Refuses what the member's role lacks; live-mode credentials also need `keys.live`.
    func require(_ permission: Permission, mode: Mode? = nil) throws {
        var needed: Set<Permission> = [permission]
        if mode == .live { needed.insert(.keysLive) }
        let missing = needed.subtracting(role.permissions)
        guard missing.isEmpty else {
            throw KeywardError(.forbidden, "permission_denied", "Your role (\(role.name)) lacks \(missing.map(\.rawValue).sorted().joined(separator: ", ")).")
        }
    }

    var auditActor: AuditActor { AuditActor(type: "user", id: user.id, address: nil) }
}

/// The Keys page: secret keys per mode, generate (shown once), revoke; keys older than the rotation
/// period (90 days) are flagged.
extension CabinetController {
    static let rotationDays = 90

    func addKeyRoutes(to cabinet: RouterGroup<KeywardRequestContext>) {
        cabinet.get("keys") { request, context -> Response in
            let principal = try context.requireCabinet()
            let mode = try Self.mode(request.uri.queryParameters["mode"].map(String.init))
            try principal.require(.keysRead, mode: mode)
            let now = services.clock.now()
            var view = CabinetPage(context, title: "Keys")
            view.mode = mode.rawValue
            view.canWrite = (try? principal.require(.keysWrite, mode: mode)) != nil
            view.modes = Mode.allCases.filter { (try? principal.require(.keysRead, mode: $0)) != nil }
                .map { ModeLink(name: $0.rawValue, title: $0 == .live ? "Live" : "Test", current: $0 == mode) }
            view.keys = try await services.secretKeys.list(merchantID: principal.merchant.id, mode: mode, limit: 1000).map { key in
                let status = key.status(at: now)
                return KeyRow(id: key.id, name: key.name, prefix: key.prefix, last4: key.last4, status: status.rawValue,
                              created: CabinetDates.day(key.createdAt),
                              lastUsed: key.lastUsedAt.map(CabinetDates.minute) ?? "never",
                              stale: status.rawValue == "active" && now.timeIntervalSince(key.createdAt) > Double(Self.rotationDays) * 86400,
                              rotationDays: Self.rotationDays, revocable: view.canWrite && key.revokedAt == nil, csrf: view.csrf, mode: mode.rawValue)
            }
            view.banner = try await banner(merchantID: principal.merchant.id, now: now)
            return try page("keys", view)
        }
        cabinet.post("keys") { request, context -> Response in
            let principal = try context.requireCabinet()
            var request = request
            let form = try await CabinetForm.read(&request)
            let mode = try Self.mode(form["mode"])
            try principal.require(.keysWrite, mode: mode)
            let created = try await services.secretKeys.create(merchantID: principal.merchant.id, mode: mode, options: .init(name: form["name"]))
            try await services.audit.record(merchantID: principal.merchant.id, actor: principal.auditActor, action: "cabinet: create secret key", targetID: created.info.id)
            var view = CabinetPage(context, title: "Key created")
            view.secret = created.secret
            view.mode = mode.rawValue
            view.baseURL = "https://\(request.head.authority ?? "localhost:8443")"
            return try page("key-created", view, status: .created)
        }
        cabinet.post("keys/:id/revoke") { request, context -> Response in
            let principal = try context.requireCabinet()
            var request = request
            let form = try await CabinetForm.read(&request)
            let mode = try Self.mode(form["mode"])
            try principal.require(.keysWrite, mode: mode)
            let id = try context.parameters.require("id")
            _ = try await services.secretKeys.revoke(merchantID: principal.merchant.id, mode: mode, id: id)
            try await services.audit.record(merchantID: principal.merchant.id, actor: principal.auditActor, action: "cabinet: revoke secret key", targetID: id)
            return .redirect(to: "/cabinet/keys?mode=\(mode.rawValue)", type: .normal)
        }
    }

    static func mode(_ text: String?) throws -> Mode {
        guard let text else { return .test }
        guard let mode = Mode(rawValue: text) else { throw KeywardError(.invalidInput, "invalid_field", "Mode is test or live.", field: "mode") }
        return mode
    }
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
    let stale: Bool
    let rotationDays: Int
    let revocable: Bool
    let csrf: String
    let mode: String
}
