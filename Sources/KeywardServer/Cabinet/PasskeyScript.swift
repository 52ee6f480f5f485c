import Crypto
import Foundation
import Hummingbird
import KeywardCore
import KeywardCrypto
import Mustache

/// The cabinet's one first-party script: WebAuthn needs `navigator.credentials`, which no form can call.
/// It is inline, and the Content-Security-Policy of the pages that carry it (the account page and the
/// second-factor step with a passkey) allows exactly this text by its SHA-256, computed at startup from
/// the same string the page embeds. Every other cabinet page keeps its script-free policy.
///
/// What it does: on submit of a `form[data-webauthn]`, reads the options the server put in
/// `data-options` (binary fields base64url), calls `navigator.credentials.create` or `.get`, writes the
/// answer into hidden fields (base64url) and submits the form normally.
enum PasskeyScript {
    static let source = """
        (function () {
          function text(buffer) { var bytes = new Uint8Array(buffer), out = ""; for (var i = 0; i < bytes.length; i++) out += String.fromCharCode(bytes[i]);
            return btoa(out).replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, ""); }
          function bytes(value) { value = value.replace(/-/g, "+").replace(/_/g, "/"); while (value.length % 4) value += "=";
            var raw = atob(value), out = new Uint8Array(raw.length); for (var i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i); return out.buffer; }
          function field(form, name, value) { var input = form.querySelector("input[name='" + name + "']");
            if (!input) { input = document.createElement("input"); input.type = "hidden"; input.name = name; form.appendChild(input); } input.value = value; }
          document.querySelectorAll("form[data-webauthn]").forEach(function (form) {
            form.addEventListener("submit", function (event) {
              event.preventDefault();
              var options = JSON.parse(form.getAttribute("data-options")), status = form.querySelector("[data-webauthn-status]"), call;
              options.challenge = bytes(options.challenge);
              (options.excludeCredentials || options.allowCredentials || []).forEach(function (c) { c.id = bytes(c.id); });
              if (!window.PublicKeyCredential) { if (status) status.textContent = "This browser cannot use passkeys."; return; }
              if (form.getAttribute("data-webauthn") === "create") { options.user.id = bytes(options.user.id); call = navigator.credentials.create({ publicKey: options }); }
              else { call = navigator.credentials.get({ publicKey: options }); }
              call.then(function (credential) {
                var response = credential.response;
                field(form, "credential_id", text(credential.rawId));
                field(form, "client_data", text(response.clientDataJSON));
                if (response.attestationObject) { field(form, "attestation_object", text(response.attestationObject)); }
                if (response.authenticatorData) { field(form, "authenticator_data", text(response.authenticatorData)); field(form, "signature", text(response.signature)); }
                HTMLFormElement.prototype.submit.call(form);
              }).catch(function (error) { if (status) status.textContent = "The passkey was not used (" + error.name + "). Try again."; });
            });
          });
        })();
        """

    /// `sha256-…` of the script, as CSP names it.
    static let hash = "sha256-" + Data(SHA256.hash(data: Array(source.utf8))).base64EncodedString()

    /// The cabinet's policy plus this one script.
    static let contentSecurityPolicy =
        "default-src 'none'; script-src '\(hash)'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"

    /// Lets a page that embeds the script run it (and nothing else).
    static func allow(_ response: Response) -> Response {
        var response = response
        response.headers[.contentSecurityPolicy] = contentSecurityPolicy
        return response
    }
}

extension KeywardServices {
    /// Passkeys for the relying party of this server: the `public_url` setting, else its own HTTPS origin.
    public var passkeys: PasskeyService {
        let base = settings.publicBaseURL
        let relyingParty = WebAuthn.RelyingParty(publicBaseURL: base) ?? WebAuthn.RelyingParty(id: "localhost", origin: base)
        return PasskeyService(store: store, clock: clock, relyingParty: relyingParty)
    }
}

/// What the passkey parts of the account page and the second-factor step show.
struct PasskeyView: Sendable {
    var rows: [PasskeyRow] = []
    /// `navigator.credentials.create` options (JSON) for the add form; empty when none may be added.
    var registrationOptions = ""
    /// `navigator.credentials.get` options (JSON) for signing in; empty when the user has no passkey.
    var assertionOptions = ""
    /// The member must enrol a passkey before going on (the merchant requires one of the role).
    var mustEnrol = false
    /// TOTP still passes the step (no passkey requirement for the role).
    var totpAllowed = false
    /// Enrolling at the step needs a current TOTP code first (TOTP is on).
    var codeForEnrolment = false
    let script = PasskeyScript.source
}

extension PasskeyView: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "rows": rows
        case "hasPasskeys": !rows.isEmpty
        case "canAdd": !registrationOptions.isEmpty
        case "registrationOptions": registrationOptions
        case "assertionOptions": assertionOptions
        case "mustEnrol": mustEnrol
        case "totpAllowed": totpAllowed
        case "codeForEnrolment": codeForEnrolment
        case "script": script
        default: nil
        }
    }
}

struct PasskeyRow: Sendable {
    let id: String, name: String, algorithm: String, created: String, lastUsed: String
}
