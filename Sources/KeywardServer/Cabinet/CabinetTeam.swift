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
                MemberRow(
                    userID: $0.user.id,
                    email: $0.user.email,
                    role: $0.role.name,
                    since: CabinetDates.day($0.since),
                    csrf: view.csrf,
                    roles: roles
                )
            }
            view.banner = try await banner(merchantID: principal.merchant.id, now: services.clock.now())
            return try page("team", view)
        }
        cabinet.post("team/invite", .needs(.write(.team, scope: .merchant))) { request, context -> Response in
            let (principal, form) = (context.principal, context.form)
            let role = try await services.team.role(merchantID: principal.merchant.id, value: form["role"] ?? "")
            try Self.mayGrant(role, principal)
            let invitation = try await audited(context, .memberInvite, mode: nil, detail: role.name) {
                try await services.team.invite(email: form["email"] ?? "", merchantID: principal.merchant.id, role: role)
            }
            var view = CabinetPage(context, title: "Invitation ready")
            view.email = form["email"] ?? ""
            let link = "\(services.settings.publicBaseURL)/cabinet/invite?token=\(invitation.token)"
            guard let mailer else {
                // No relay: the inviter passes the link on.
                view.uri = link
                return try page("invited", view, status: .created)
            }
            // With a relay the link goes to the invited address only: whoever invites never holds it.
            let body =
                "\(principal.user.email) invited you to \(principal.merchant.name) on Keyward as \(role.name).\n\n"
                + "Accept within 7 days (the link works once):\n\(link)\n"
            do {
                try await mailer.send(to: view.email, subject: "Join \(principal.merchant.name) on Keyward", body: body)
                view.notice = "Mailed to \(view.email)."
            } catch {
                services.logger.warning("invitation mail failed", metadata: ["merchant": "\(principal.merchant.id)", "reason": "\(type(of: error))"])
                view.message = "The mail could not be sent; check the relay and invite again."
            }
            return try page("invited", view, status: .created)
        }
        cabinet.post("team/roles", .needs(.write(.team, scope: .merchant))) { _, context -> Response in
            let (principal, form) = (context.principal, context.form)
            let chosen = form.keys.filter { $0.hasPrefix("permission.") }.map { String($0.dropFirst("permission.".count)) }
            try Self.mayGrant(.custom(id: "", name: "", permissions: Set(chosen.compactMap(Permission.init))), principal)
            // The detail is the role's name as asked for: the entry commits with the role, before it has a value.
            _ = try await audited(context, .roleCreate, mode: nil, detail: form["name"]?.trimmingCharacters(in: .whitespaces)) {
                try await services.team.createRole(merchantID: principal.merchant.id, name: form["name"] ?? "", permissions: chosen)
            }
            return .redirect(to: "/cabinet/team", type: .normal)
        }
        cabinet.post("team/:user/role", .needs(.write(.team, scope: .merchant))) { _, context -> Response in
            let (principal, form) = (context.principal, context.form)
            let userID = try context.parameters.require("user")
            let role = try await services.team.role(merchantID: principal.merchant.id, value: form["role"] ?? "")
            try Self.mayGrant(role, principal)
            try await audited(context, .memberChangeRole, mode: nil, detail: role.name, target: userID) {
                try await services.team.changeRole(merchantID: principal.merchant.id, userID: userID, to: role)
            }
            return .redirect(to: "/cabinet/team", type: .normal)
        }
        cabinet.post("team/:user/remove", .needs(.write(.team, scope: .merchant))) { _, context -> Response in
            let principal = context.principal
            let userID = try context.parameters.require("user")
            try await audited(context, .memberRemove, mode: nil, target: userID) {
                try await services.team.remove(merchantID: principal.merchant.id, userID: userID)
            }
            return .redirect(to: "/cabinet/team", type: .normal)
        }
        cabinet.get("audit", .needs(.read(.audit, scope: .merchant))) { request, context -> Response in
            let principal = context.principal
            let filter = request.uri.queryParameters["action"].map(String.init).flatMap { $0.isEmpty ? nil : String($0.prefix(100)) }
            var view = CabinetPage(context, title: "Audit log")
            view.filter = filter ?? ""
            view.banner = try await banner(merchantID: principal.merchant.id, now: services.clock.now())
            view.entries = try await services.audit.list(merchantID: principal.merchant.id, action: filter, limit: 200).map {
                AuditRowView(
                    at: CabinetDates.minute($0.at),
                    actor: "\($0.actorType) \($0.actorID)",
                    address: $0.address ?? "",
                    action: $0.action,
                    target: $0.targetID ?? "",
                    outcome: $0.outcome
                )
            }
            return try page("audit", view)
        }
    }

    /// A member cannot hand out more than they hold (no self-made path to live keys).
    static func mayGrant(_ role: MemberRole, _ principal: CabinetPrincipal) throws {
        let beyond = role.permissions.subtracting(principal.role.permissions)
        guard beyond.isEmpty else {
            throw KeywardError(
                .forbidden,
                .insufficientPermissions,
                "You cannot grant \(beyond.map(\.rawValue).sorted().joined(separator: ", ")), which your role lacks."
            )
        }
    }

    /// The invitation page and its acceptance (open: the link is the credential). The page says which
    /// merchant and role it grants; a new address chooses a password, an existing account accepts only
    /// while signed in as itself, and a pending account is set up by its own setup link only.
    func addInvitationRoutes(to cabinet: CabinetRoutes) {
        cabinet.open("invite", method: .get) { request, context in
            try await invitationPage(token: request.uri.queryParameters["token"].map(String.init) ?? "", context, message: nil, status: .ok)
        }
        cabinet.open("invite", method: .post) { request, context -> Response in
            var request = request
            let form = try await CabinetForm.read(&request)
            let token = form["token"] ?? ""
            guard Self.passesDoubleSubmit(request, form) else {
                return try await invitationPage(token: token, context, message: "This form is out of date. Please try again.", status: .forbidden)
            }
            let password = form["password"].flatMap { $0.isEmpty ? nil : $0 }
            let signedIn = context.cabinet.flatMap { $0.owesSecondFactor ? nil : $0.user.id }
            do {
                let (user, merchantID) = try await services.team.acceptInvitation(token: token, password: password, signedInUserID: signedIn)
                await recordChange(
                    merchantID: merchantID,
                    actor: AuditActor(type: "user", id: user.id, address: context.clientAddressText),
                    action: .invitationAccept,
                    targetID: user.id
                )
            } catch let error as KeywardError
                where [.weakPassword, .invalidLink, .alreadyMember, .accountPending, .signInRequired].contains(error.code)
            {
                return try await invitationPage(
                    token: token,
                    context,
                    message: error.message,
                    status: error.kind == .unauthenticated ? .unauthorized : .badRequest
                )
            }
            return .redirect(to: signedIn == nil ? "/cabinet/login" : "/cabinet", type: .normal)
        }
    }

    func invitationPage(token: String, _ context: KeywardRequestContext, message: String?, status: HTTPResponse.Status) async throws -> Response {
        let info = try? await services.team.invitation(token: token)
        let signedIn = context.cabinet.flatMap { $0.owesSecondFactor ? nil : $0.user }
        return try anonymousFormPage(
            "accept",
            title: "Join the team",
            message: message
                ?? (info == nil ? "This invitation is not valid: it was used already, has expired, or was mistyped. Ask for a new one." : nil),
            status: info == nil && message == nil ? .badRequest : status
        ) { view in
            view.secret = token
            view.invitation = info.map { InvitationView($0, signedIn: signedIn) }
        }
    }
}

/// The invitation page: what it grants and what the visitor must do.
struct InvitationView: Sendable {
    let email: String, merchant: String, role: String
    /// No account has the address: choose a password.
    let newAccount: Bool
    /// Signed in as the invited account: one click.
    let canAccept: Bool
    /// The account exists but another one (or nobody) is signed in.
    let mustSignIn: Bool
    /// The account waits for its own setup link.
    let pending: Bool

    init(_ info: InvitationInfo, signedIn: UserInfo?) {
        email = info.email
        merchant = info.merchantName
        role = info.roleName
        switch info.account {
        case .none: (newAccount, canAccept, mustSignIn, pending) = (true, false, false, false)
        case .pending: (newAccount, canAccept, mustSignIn, pending) = (false, false, false, true)
        case .active(let userID):
            let isInvitee = signedIn?.id == userID
            (newAccount, canAccept, mustSignIn, pending) = (false, isInvitee, !isInvitee, false)
        }
    }
}

struct RoleOption: Sendable {
    let value: String
    let name: String
}

struct MemberRow: Sendable {
    let userID: String, email: String, role: String, since: String, csrf: String
    let roles: [RoleOption]
}

struct AuditRowView: Sendable { let at: String, actor: String, address: String, action: String, target: String, outcome: String }
