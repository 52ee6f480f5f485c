import Foundation
import Hummingbird
import KeywardCore

/// The member's own account: change the password (every other session ends), and replace the
/// recovery codes after a fresh TOTP code (shown once). No permission needed: it is one's own account.
extension CabinetController {
    func addAccountRoutes(to cabinet: CabinetRoutes) {
        cabinet.get("account", .member) { request, context -> Response in
            let changed = request.uri.queryParameters["changed"] != nil
            let passkey = request.uri.queryParameters["passkey"].map {
                "Passkey \($0 == "added" ? "added" : "removed"); other browsers were signed out."
            }
            return try await accountPage(
                context,
                message: nil,
                notice: changed ? "Password changed; other browsers were signed out." : passkey,
                status: .ok
            )
        }
        cabinet.post("account/password", .member) { request, context -> Response in
            let (principal, form) = (context.principal, context.form)
            do {
                try await services.accounts.changePassword(
                    userID: principal.user.id,
                    current: form["current"] ?? "",
                    new: form["password"] ?? "",
                    address: context.clientAddressText
                )
            } catch let error as KeywardError where [.invalidCredentials, .loginLocked, .weakPassword].contains(error.code) {
                let message = error.code == .invalidCredentials ? "The current password is wrong." : error.message
                return try await accountPage(
                    context,
                    message: message,
                    notice: nil,
                    status: error.code == .weakPassword ? .badRequest : .unauthorized
                )
            }
            // Other browsers signed in with the old password are signed out; this one gets a fresh session.
            try await services.cabinetSessions.endAll(userID: principal.user.id)
            let (token, _) = try await services.cabinetSessions.create(
                userID: principal.user.id,
                merchantID: principal.merchant.id,
                secondFactor: principal.session.secondFactor,
                origin: Self.origin(request, context.clientAddressText)
            )
            for merchantID in try await services.team.merchants(userID: principal.user.id) {
                await recordChange(
                    merchantID: merchantID,
                    actor: principal.auditActor,
                    action: .passwordChange,
                    targetID: principal.user.id
                )
            }
            var response = Response.redirect(to: "/cabinet/account?changed=1", type: .normal)
            response.setCookie(CabinetCookies.make(CabinetCookies.session, token, maxAge: Int(CabinetSessions.absoluteLifetime)))
            return response
        }
        cabinet.post("account/recovery-codes", .member) { request, context -> Response in
            let (principal, form) = (context.principal, context.form)
            let codes: [String]
            do {
                codes = try await services.accounts.regenerateRecoveryCodes(userID: principal.user.id, code: form["code"] ?? "")
            } catch let error as KeywardError where [.invalidCode, .totpRequired].contains(error.code) {
                return try await accountPage(context, message: error.message, notice: nil, status: .unauthorized)
            }
            await recordChange(
                merchantID: principal.merchant.id,
                actor: principal.auditActor,
                action: .recoveryCodesRenew,
                targetID: principal.user.id
            )
            // The second factor changed: other sessions end, this one starts anew.
            try await services.cabinetSessions.endAll(userID: principal.user.id)
            let (token, session) = try await services.cabinetSessions.create(
                userID: principal.user.id,
                merchantID: principal.merchant.id,
                secondFactor: true,
                origin: Self.origin(request, context.clientAddressText)
            )
            var view = CabinetPage(
                CabinetPrincipal(token: token, session: session, user: principal.user, role: principal.role, merchant: principal.merchant),
                title: "Recovery codes"
            )
            view.codes = codes
            var response = try page("recovery-codes", view)
            response.setCookie(CabinetCookies.make(CabinetCookies.session, token, maxAge: Int(CabinetSessions.absoluteLifetime)))
            return response
        }
        // "Sign out everywhere": every session of the account ends, this one too.
        cabinet.post("account/sessions/end-all", .member) { _, context -> Response in
            let principal = context.principal
            try await services.cabinetSessions.endAll(userID: principal.user.id)
            for merchantID in try await services.team.merchants(userID: principal.user.id) {
                await recordChange(
                    merchantID: merchantID,
                    actor: principal.auditActor,
                    action: .sessionsEndAll,
                    targetID: principal.user.id
                )
            }
            var response = Response.redirect(to: "/cabinet/login", type: .normal)
            response.setCookie(CabinetCookies.make(CabinetCookies.session, "", maxAge: 0))
            return response
        }
    }

    func accountPage(_ context: CabinetContext, message: String?, notice: String?, status: HTTPResponse.Status) async throws -> Response {
        let principal = context.principal
        var view = CabinetPage(context, title: "Your account", message: message)
        view.notice = notice
        let current = CabinetSessions.handle(of: principal.token)
        view.account = AccountView(
            totpEnabled: principal.user.totpEnabled,
            recoveryCodesLeft: principal.user.totpEnabled ? try await services.accounts.recoveryCodesLeft(userID: principal.user.id) : 0,
            sessions: try await services.cabinetSessions.list(userID: principal.user.id).map {
                SessionRow(
                    since: CabinetDates.minute($0.createdAt),
                    lastSeen: CabinetDates.minute($0.lastSeenAt),
                    address: $0.address,
                    browser: String($0.userAgent.prefix(80)),
                    current: $0.handle == current
                )
            }
        )
        view.passkeys = try await passkeySection(principal)
        return PasskeyScript.allow(try page("account", view, status: status))
    }
}

struct AccountView: Sendable {
    let totpEnabled: Bool
    let recoveryCodesLeft: Int
    let sessions: [SessionRow]
}

/// A signed-in browser on the account page.
struct SessionRow: Sendable {
    let since: String, lastSeen: String, address: String, browser: String
    let current: Bool
}

extension CabinetTemplates {
    static let account = """
        {{> head}}
        <h1>Your account</h1>
        {{#message}}<p class="error" role="alert">{{message}}</p>{{/message}}
        {{#notice}}<p role="status">{{notice}}</p>{{/notice}}
        <p>{{email}} · {{role}} at {{merchantName}}</p>
        <h2>Password</h2>
        <form class="card" method="post" action="/cabinet/account/password">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label for="current">Current password</label>
        <input id="current" name="current" type="password" autocomplete="current-password" required>
        <label for="new-password">New password (12 characters or more)</label>
        <input id="new-password" name="password" type="password" autocomplete="new-password" minlength="12" required>
        <button type="submit">Change password</button>
        <p>Every other browser signed in to this account is signed out.</p>
        </form>
        <h2>Two-factor authentication</h2>
        {{#account}}
        {{#totpEnabled}}
        <p>On. {{recoveryCodesLeft}} of 10 recovery codes left.</p>
        <form class="card" method="post" action="/cabinet/account/recovery-codes">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label for="code">Code from your authenticator app</label>
        <input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" required>
        <button type="submit">Replace the recovery codes</button>
        </form>
        {{/totpEnabled}}
        {{^totpEnabled}}<p>Off. <a href="/cabinet/2fa/setup">Turn it on</a></p>{{/totpEnabled}}
        {{> account-passkeys}}
        <h2>Where you are signed in</h2>
        <table id="sessions">
        <thead><tr><th scope="col">Since</th><th scope="col">Last seen</th><th scope="col">From</th><th scope="col">Browser</th></tr></thead>
        <tbody>
        {{#sessions}}<tr><td>{{since}}</td><td>{{lastSeen}}</td><td>{{address}}</td><td>{{browser}}{{#current}} <strong>(this browser)</strong>{{/current}}</td></tr>{{/sessions}}
        </tbody>
        </table>
        <form method="post" action="/cabinet/account/sessions/end-all">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <button type="submit" class="danger">Sign out everywhere</button>
        </form>
        {{/account}}
        {{> foot}}
        """
}
