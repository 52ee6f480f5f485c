import Foundation
import Hummingbird
import KeywardCore
import KeywardCrypto

/// Passkeys in the cabinet: add and remove them on the account page (every other session of the account
/// ends, as for TOTP enrolment), give one at the second-factor step, and enrol one at that step when the
/// merchant requires passkeys of the member's role (TOTP and recovery codes no longer pass it then).
extension CabinetController {
    func addPasskeyRoutes(to cabinet: CabinetRoutes) {
        cabinet.post("account/passkeys", .member) { request, context -> Response in
            let principal = context.principal
            do {
                let passkey = try await register(context)
                await recordChange(
                    merchantID: principal.merchant.id,
                    actor: principal.auditActor,
                    action: .passkeyAdd,
                    detail: passkey.name,
                    targetID: passkey.id
                )
            } catch let error as KeywardError where error.kind != .unavailable {
                return try await accountPage(context, message: error.message, notice: nil, status: Self.status(error))
            }
            // The member just showed the new passkey (user presence): this session has given it.
            return try await secondFactorChanged(context, request: request, secondFactor: true, to: "/cabinet/account?passkey=added")
        }
        cabinet.post("account/passkeys/{id}/remove", .member) { request, context -> Response in
            let principal = context.principal
            let id = context.parameters.get("id") ?? ""
            try await services.passkeys.remove(userID: principal.user.id, id: id)
            await recordChange(merchantID: principal.merchant.id, actor: principal.auditActor, action: .passkeyRemove, targetID: id)
            return try await secondFactorChanged(
                context,
                request: request,
                secondFactor: principal.session.secondFactor,
                to: "/cabinet/account?passkey=removed"
            )
        }
        cabinet.post("2fa/passkey", .secondFactorStep) { request, context -> Response in
            let principal = context.principal
            do {
                let form = context.form
                _ = try await services.passkeys.authenticate(
                    userID: principal.user.id,
                    credentialID: form["credential_id"] ?? "",
                    clientDataJSON: try Self.binary(form, "client_data"),
                    authenticatorData: try Self.binary(form, "authenticator_data"),
                    signature: try Self.binary(form, "signature")
                )
            } catch let error as KeywardError where error.kind != .unavailable {
                if error.code == .webauthnSignCount { try await recordPossibleClone(context) }
                return try await secondFactorPage(context, message: error.message, status: .unauthorized)
            }
            return try await signedInAgain(context, request: request, secondFactor: true, to: "/cabinet")
        }
        // Enrolment at the step, for a member whose role must use a passkey and has none yet: a TOTP
        // code first when TOTP is on (the password alone must not be enough to bind a new authenticator).
        cabinet.post("2fa/passkey/register", .secondFactorStep) { request, context -> Response in
            let principal = context.principal
            guard try await services.passkeys.required(role: principal.role, merchantID: principal.merchant.id),
                !(try await services.passkeys.hasPasskey(userID: principal.user.id))
            else {
                throw KeywardError(.forbidden, .passkeyEnrolmentClosed, "Add passkeys from your account page once signed in.")
            }
            do {
                if principal.user.totpEnabled {
                    try await services.accounts.verifySecondFactor(userID: principal.user.id, code: context.form["code"] ?? "")
                }
                let passkey = try await register(context)
                await recordChange(
                    merchantID: principal.merchant.id,
                    actor: principal.auditActor,
                    action: .passkeyAdd,
                    detail: passkey.name,
                    targetID: passkey.id
                )
            } catch let error as KeywardError where error.kind != .unavailable {
                return try await secondFactorPage(context, message: error.message, status: Self.status(error))
            }
            return try await secondFactorChanged(context, request: request, secondFactor: true, to: "/cabinet")
        }
    }

    /// Verifies and stores the passkey the posted form carries.
    func register(_ context: CabinetContext) async throws -> PasskeyInfo {
        let form = context.form
        return try await services.passkeys.register(
            userID: context.principal.user.id,
            name: form["name"] ?? "",
            clientDataJSON: try Self.binary(form, "client_data"),
            attestationObject: try Self.binary(form, "attestation_object")
        )
    }

    /// The second factor changed: every other session of the account ends, this one starts anew.
    func secondFactorChanged(_ context: CabinetContext, request: Request, secondFactor: Bool, to location: String) async throws -> Response {
        let principal = context.principal
        try await services.cabinetSessions.endAll(userID: principal.user.id)
        let (token, _) = try await services.cabinetSessions.create(
            userID: principal.user.id,
            merchantID: principal.merchant.id,
            secondFactor: secondFactor,
            origin: Self.origin(request, context.clientAddressText)
        )
        var response = Response.redirect(to: location, type: .normal)
        response.setCookie(CabinetCookies.make(CabinetCookies.session, token, maxAge: Int(CabinetSessions.absoluteLifetime)))
        return response
    }

    /// A valid signature whose counter did not advance: recorded for every merchant of the account.
    func recordPossibleClone(_ context: CabinetContext) async throws {
        let principal = context.principal
        for merchantID in try await services.team.merchants(userID: principal.user.id) {
            await recordChange(
                merchantID: merchantID,
                actor: AuditActor(type: "user", id: principal.user.id, address: context.clientAddressText),
                action: .passkeyCounterRegressed,
                targetID: principal.user.id,
                outcome: "passkey_cloned"
            )
        }
    }

    /// The second-factor step: the passkey when the member has one, enrolment of one when the role must
    /// use one and has none, and the code form unless passkeys are required.
    func secondFactorPage(_ context: CabinetContext, message: String?, status: HTTPResponse.Status) async throws -> Response {
        let principal = context.principal
        let passkeys = services.passkeys
        let required = try await passkeys.required(role: principal.role, merchantID: principal.merchant.id)
        let has = try await passkeys.hasPasskey(userID: principal.user.id)
        guard required || has else {
            return try page("second-factor", CabinetPage(context, title: "Two-factor authentication", message: message), status: status)
        }
        var view = CabinetPage(context, title: "Two-factor authentication", message: message)
        var passkeyView = PasskeyView()
        passkeyView.totpAllowed = !required && principal.user.totpEnabled
        if has {
            passkeyView.assertionOptions = try await passkeys.assertionOptions(userID: principal.user.id)
        } else {
            passkeyView.mustEnrol = true
            passkeyView.codeForEnrolment = principal.user.totpEnabled
            passkeyView.registrationOptions = try await passkeys.registrationOptions(user: principal.user)
        }
        view.passkeys = passkeyView
        return PasskeyScript.allow(try page("second-factor-passkey", view, status: status))
    }

    /// A member who owes the second factor and has a passkey, or must enrol one: the passkey step, not TOTP enrolment.
    func passkeyStepInstead(_ principal: CabinetPrincipal) async throws -> Bool {
        guard principal.owesSecondFactor else { return false }
        if try await services.passkeys.hasPasskey(userID: principal.user.id) { return true }
        return try await services.passkeys.required(role: principal.role, merchantID: principal.merchant.id)
    }

    /// Whether TOTP and recovery codes may still pass the step for this member.
    func codesPassSecondFactor(_ principal: CabinetPrincipal) async throws -> Bool {
        !(try await services.passkeys.required(role: principal.role, merchantID: principal.merchant.id))
    }

    /// The account page's passkey section.
    func passkeySection(_ principal: CabinetPrincipal) async throws -> PasskeyView {
        var view = PasskeyView()
        view.rows = try await services.passkeys.list(userID: principal.user.id).map {
            PasskeyRow(
                id: $0.id,
                name: $0.name,
                algorithm: $0.algorithm,
                created: CabinetDates.minute($0.createdAt),
                lastUsed: $0.lastUsedAt.map(CabinetDates.minute) ?? "never"
            )
        }
        if view.rows.count < PasskeyService.maximumPerUser {
            view.registrationOptions = try await services.passkeys.registrationOptions(user: principal.user)
        }
        return view
    }

    /// A base64url form field; a missing or damaged one is a 400 with a reason.
    static func binary(_ form: [String: String], _ name: String) throws -> [UInt8] {
        guard let text = form[name], !text.isEmpty, text.utf8.count <= 64 * 1024, let data = Base64URL.decode(text) else {
            throw KeywardError(.invalidInput, .webauthnMalformed, "The passkey answer is missing or damaged (\(name)); try again.", field: name)
        }
        return Array(data)
    }

    static func status(_ error: KeywardError) -> HTTPResponse.Status {
        switch error.kind {
        case .unauthenticated: .unauthorized
        case .forbidden: .forbidden
        case .conflict: .conflict
        case .notFound: .notFound
        default: .badRequest
        }
    }
}

extension CabinetTemplates {
    static let passkeyTemplates: [(String, String)] = [
        ("second-factor-passkey", secondFactorPasskey), ("account-passkeys", accountPasskeys),
        ("settings-passkeys", settingsPasskeys),
    ]

    static let secondFactorPasskey = """
        {{> head}}
        <h1>Two-factor authentication</h1>
        {{#message}}<p class="error" role="alert">{{message}}</p>{{/message}}
        {{#passkeys}}
        {{#mustEnrol}}
        <p>Your merchant requires a passkey for your role, which can see live keys. Add one now (a security key, or your device's passkeys).</p>
        <form class="card" id="passkey-enrol" method="post" action="/cabinet/2fa/passkey/register" data-webauthn="create" data-options="{{registrationOptions}}">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label for="passkey-name">Name of this passkey</label>
        <input id="passkey-name" name="name" type="text" maxlength="60" required value="Passkey">
        {{#codeForEnrolment}}<label for="code">Code from your authenticator app, or a recovery code</label>
        <input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" required>{{/codeForEnrolment}}
        <p data-webauthn-status role="status"></p>
        <button type="submit">Add a passkey</button>
        </form>
        {{/mustEnrol}}
        {{^mustEnrol}}
        <form class="card" id="passkey-sign-in" method="post" action="/cabinet/2fa/passkey" data-webauthn="get" data-options="{{assertionOptions}}">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <p data-webauthn-status role="status"></p>
        <button type="submit" autofocus>Use your passkey</button>
        </form>
        {{/mustEnrol}}
        {{#totpAllowed}}
        <h2>Or a code</h2>
        <form class="card" method="post" action="/cabinet/2fa">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label for="code">Code from your authenticator app, or a recovery code</label>
        <input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" required>
        <button type="submit">Continue</button>
        </form>
        {{/totpAllowed}}
        <script>{{{script}}}</script>
        {{/passkeys}}
        {{> foot}}
        """

    /// The account page's passkey section (inside `{{#account}}`).
    static let accountPasskeys = """
        <h2>Passkeys</h2>
        {{#passkeys}}
        {{#hasPasskeys}}
        <table id="passkeys">
        <thead><tr><th scope="col">Name</th><th scope="col">Algorithm</th><th scope="col">Added</th><th scope="col">Last used</th><th scope="col"></th></tr></thead>
        <tbody>
        {{#rows}}<tr><td>{{name}}</td><td>{{algorithm}}</td><td>{{created}}</td><td>{{lastUsed}}</td>
        <td><form method="post" action="/cabinet/account/passkeys/{{id}}/remove"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit" class="danger">Remove</button></form></td></tr>{{/rows}}
        </tbody>
        </table>
        {{/hasPasskeys}}
        {{^hasPasskeys}}<p>None yet. A passkey signs you in without a code, and cannot be phished.</p>{{/hasPasskeys}}
        {{#canAdd}}
        <form class="card" id="passkey-add" method="post" action="/cabinet/account/passkeys" data-webauthn="create" data-options="{{registrationOptions}}">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label for="passkey-name">Name of the new passkey</label>
        <input id="passkey-name" name="name" type="text" maxlength="60" required placeholder="Work laptop">
        <p data-webauthn-status role="status"></p>
        <button type="submit">Add a passkey</button>
        <p>Adding or removing a passkey signs out every other browser.</p>
        </form>
        {{/canAdd}}
        <script>{{{script}}}</script>
        {{/passkeys}}
        """
}
