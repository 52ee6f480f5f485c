import Foundation
import Hummingbird
import KeywardCore
import KeywardCrypto

/// Team pages (team.manage): members and roles, invitations (the link is shown, as no mail transport
/// is configured), custom roles; the invitation page; and the audit log (audit.read).
extension CabinetController {
    func addTeamRoutes(to cabinet: CabinetRoutes) {
        cabinet.get("team", .needs(.write(.team, scope: .merchant))) { _, context -> Response in
            let principal = context.principal
            var view = CabinetPage(context, title: "Team")
            let roles = try await services.team.roles(merchantID: principal.merchant.id).map { RoleOption(value: $0.storedValue, name: $0.name) }
            view.roles = roles
            view.permissions = Permission.allCases.map(\.rawValue)
            view.members = try await services.team.members(merchantID: principal.merchant.id).map {
                MemberRow(userID: $0.user.id, email: $0.user.email, role: $0.role.name, since: CabinetDates.day($0.since),
                          csrf: view.csrf, roles: roles)
            }
            view.banner = try await banner(merchantID: principal.merchant.id, now: services.clock.now())
            return try page("team", view)
        }
        cabinet.post("team/invite", .needs(.write(.team, scope: .merchant))) { request, context -> Response in
            let (principal, form) = (context.principal, context.form)
            let role = try await services.team.role(merchantID: principal.merchant.id, value: form["role"] ?? "")
            try Self.mayGrant(role, principal)
            let invitation = try await services.team.invite(email: form["email"] ?? "", merchantID: principal.merchant.id, role: role)
            try await services.audit.record(merchantID: principal.merchant.id, actor: principal.auditActor, action: "cabinet: invite member (\(role.name))", targetID: nil)
            var view = CabinetPage(context, title: "Invitation ready")
            view.email = form["email"] ?? ""
            view.uri = "\(Self.baseURL(request))/cabinet/invite?token=\(invitation.token)"
            if let mailer {
                let body = "\(principal.user.email) invited you to \(principal.merchant.name) on Keyward as \(role.name).\n\n"
                    + "Accept within 7 days (the link works once):\n\(view.uri)\n"
                do {
                    try await mailer.send(to: view.email, subject: "Join \(principal.merchant.name) on Keyward", body: body)
                    view.notice = "Mailed to \(view.email)."
                } catch {
                    services.logger.warning("invitation mail failed", metadata: ["merchant": "\(principal.merchant.id)", "reason": "\(error)"])
                    view.message = "The mail could not be sent (\(error)); pass the link on yourself."
                }
            }
            return try page("invited", view, status: .created)
        }
        cabinet.post("team/roles", .needs(.write(.team, scope: .merchant))) { _, context -> Response in
            let (principal, form) = (context.principal, context.form)
            let chosen = form.keys.filter { $0.hasPrefix("permission.") }.map { String($0.dropFirst("permission.".count)) }
            try Self.mayGrant(.custom(id: "", name: "", permissions: Set(chosen.compactMap(Permission.init))), principal)
            let role = try await services.team.createRole(merchantID: principal.merchant.id, name: form["name"] ?? "", permissions: chosen)
            try await services.audit.record(merchantID: principal.merchant.id, actor: principal.auditActor, action: "cabinet: create role \(role.name)", targetID: role.storedValue)
            return .redirect(to: "/cabinet/team", type: .normal)
        }
        cabinet.post("team/:user/role", .needs(.write(.team, scope: .merchant))) { _, context -> Response in
            let (principal, form) = (context.principal, context.form)
            let userID = try context.parameters.require("user")
            let role = try await services.team.role(merchantID: principal.merchant.id, value: form["role"] ?? "")
            try Self.mayGrant(role, principal)
            try await services.team.changeRole(merchantID: principal.merchant.id, userID: userID, to: role)
            try await services.audit.record(merchantID: principal.merchant.id, actor: principal.auditActor, action: "cabinet: change role to \(role.name)", targetID: userID)
            return .redirect(to: "/cabinet/team", type: .normal)
        }
        cabinet.post("team/:user/remove", .needs(.write(.team, scope: .merchant))) { _, context -> Response in
            let principal = context.principal
            let userID = try context.parameters.require("user")
            try await services.team.remove(merchantID: principal.merchant.id, userID: userID)
            try await services.audit.record(merchantID: principal.merchant.id, actor: principal.auditActor, action: "cabinet: remove member", targetID: userID)
            return .redirect(to: "/cabinet/team", type: .normal)
        }
        cabinet.get("audit", .needs(.read(.audit, scope: .merchant))) { request, context -> Response in
            let principal = context.principal
            let filter = request.uri.queryParameters["action"].map(String.init).flatMap { $0.isEmpty ? nil : String($0.prefix(100)) }
            var view = CabinetPage(context, title: "Audit log")
            view.filter = filter ?? ""
            view.banner = try await banner(merchantID: principal.merchant.id, now: services.clock.now())
            view.entries = try await services.audit.list(merchantID: principal.merchant.id, action: filter, limit: 200).map {
                AuditRowView(at: CabinetDates.minute($0.at), actor: "\($0.actorType) \($0.actorID)", address: $0.address ?? "",
                             action: $0.action, target: $0.targetID ?? "", outcome: $0.outcome)
            }
            return try page("audit", view)
        }
    }

    /// A member cannot hand out more than they hold (no self-made path to live keys).
    static func mayGrant(_ role: MemberRole, _ principal: CabinetPrincipal) throws {
        let beyond = role.permissions.subtracting(principal.role.permissions)
        guard beyond.isEmpty else {
            throw KeywardError(.forbidden, "insufficient_permissions", "You cannot grant \(beyond.map(\.rawValue).sorted().joined(separator: ", ")), which your role lacks.")
        }
    }

    /// The invitation page and its acceptance (open: the link is the credential).
    func addInvitationRoutes(to cabinet: CabinetRoutes) {
        cabinet.open("invite", method: .get) { request, _ in try invitationPage(token: request.uri.queryParameters["token"].map(String.init) ?? "", message: nil, status: .ok) }
        cabinet.open("invite", method: .post) { request, _ -> Response in
            var request = request
            let form = try await CabinetForm.read(&request)
            let token = form["token"] ?? ""
            guard Self.passesDoubleSubmit(request, form) else {
                return try invitationPage(token: token, message: "This form is out of date. Please try again.", status: .forbidden)
            }
            let password = form["password"].flatMap { $0.isEmpty ? nil : $0 }
            do {
                let (user, merchantID) = try await services.team.acceptInvitation(token: token, password: password)
                try await services.audit.record(merchantID: merchantID, actor: AuditActor(type: "user", id: user.id), action: "cabinet: accept invitation", targetID: user.id)
            } catch let error as KeywardError where ["weak_password", "invalid_link", "already_member"].contains(error.code) {
                return try invitationPage(token: token, message: error.message, status: .badRequest)
            }
            return .redirect(to: "/cabinet/login", type: .normal)
        }
    }

    func invitationPage(token: String, message: String?, status: HTTPResponse.Status) throws -> Response {
        try anonymousFormPage("accept", title: "Join the team", message: message, status: status) { $0.secret = token }
    }
}

struct RoleOption: Sendable { let value: String; let name: String }

struct MemberRow: Sendable {
    let userID: String, email: String, role: String, since: String, csrf: String
    let roles: [RoleOption]
}

struct AuditRowView: Sendable { let at: String, actor: String, address: String, action: String, target: String, outcome: String }
