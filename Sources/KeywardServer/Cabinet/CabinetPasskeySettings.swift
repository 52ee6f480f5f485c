import Foundation
import Hummingbird
import KeywardCore

/// The owner's setting "require a passkey for roles that can see live keys" on the Settings page.
/// Members of such roles then pass the second-factor step only with a passkey (and enrol one there).
extension CabinetController {
    func addPasskeySettingRoutes(to cabinet: CabinetRoutes) {
        cabinet.post("settings/passkeys", .needs(.write(.settings, scope: .merchant))) { _, context -> Response in
            let principal = context.principal
            // It binds the owners themselves: theirs to decide, not every role that may change settings.
            guard principal.role == .builtIn(.owner) else {
                throw KeywardError(.forbidden, .ownerRequired, "Only an owner may change whether passkeys are required.")
            }
            let required = context.form["passkeys_required"] == "on"
            _ = try await audited(context, .passkeyPolicyChange, mode: nil, detail: required ? "required for live roles" : "not required") {
                try await services.merchantSettings.update(
                    merchantID: principal.merchant.id,
                    rotationDays: nil,
                    allowedIPs: nil,
                    passkeysRequired: required
                )
            }
            return try await settingsPage(
                context,
                message: nil,
                notice: required ? "Passkeys are now required for roles that can see live keys." : "Passkeys are no longer required.",
                status: .ok
            )
        }
    }
}

extension CabinetTemplates {
    /// Inside `{{#settings}}` of the Settings page.
    static let settingsPasskeys = """
        <h2>Passkeys</h2>
        {{#ownerMayRequirePasskeys}}
        <form class="card" method="post" action="/cabinet/settings/passkeys">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label><input type="checkbox" id="passkeys_required" name="passkeys_required" value="on"{{#passkeysRequired}} checked{{/passkeysRequired}}> Require a passkey for roles that can see live keys</label>
        <p>Members of those roles then sign in with a passkey only (codes from an app or recovery codes no longer pass), and are asked to add one at their next sign-in.</p>
        <button type="submit">Save</button>
        </form>
        {{/ownerMayRequirePasskeys}}
        {{^ownerMayRequirePasskeys}}<p>{{#passkeysRequired}}Passkeys are required{{/passkeysRequired}}{{^passkeysRequired}}Passkeys are not required{{/passkeysRequired}} for roles that can see live keys; an owner changes this.</p>{{/ownerMayRequirePasskeys}}
        """
}
