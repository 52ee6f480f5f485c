import Foundation
import Hummingbird
import KeywardCore
import KeywardCrypto

/// The other credentials on the Keys page, per mode: HMAC payment keys (generate: shown once; revoke),
/// signing key pairs for RFC 9421 (generated here: the private key shown once; revoke), provider
/// stores with their key indexes, and Alliance JWKs with the merchant's service code (revoke).
/// Revocations are confirmed on a page of their own, like secret keys.
extension CabinetController {
    /// Credential kinds a cabinet URL names.
    enum CredentialKind: String, CaseIterable {
        case paymentKeys = "payment-keys"
        case signingKeys = "signing-keys"
        case jwks

        var title: String {
            switch self {
            case .paymentKeys: "payment key"
            case .signingKeys: "signing key"
            case .jwks: "JWK"
            }
        }

        /// What revoking one is called in the audit log.
        var revokeAction: AuditAction {
            switch self {
            case .paymentKeys: .paymentKeyRevoke
            case .signingKeys: .signingKeyRevoke
            case .jwks: .jwkRevoke
            }
        }
    }

    func addCredentialRoutes(to cabinet: CabinetRoutes) {
        cabinet.post("credentials/payment-keys", .needs(.write(.credentials))) { _, context -> Response in
            let (principal, form, mode) = (context.principal, context.form, context.mode)
            let created = try await audited(context, .paymentKeyCreate, mode: mode) {
                try await services.paymentKeys.create(merchantID: principal.merchant.id, mode: mode, label: form["name"], by: .member(principal.role))
            }
            return try credentialCreatedPage(
                context,
                mode: mode,
                title: "Payment key created",
                secret: created.secret,
                fileName: "keyward-\(mode.rawValue)-payment-key.txt",
                steps: "Configure it as the HMAC key of your payment integration (the order hash is HMAC-SHA256 under it)."
            )
        }
        cabinet.get("credentials/payment-keys/:id/roll", .needs(.write(.credentials))) { _, context -> Response in
            let key = try await paymentKey(context.principal, mode: context.mode, id: try context.parameters.require("id"))
            return try paymentKeyRollPage(context, key, message: nil, status: .ok)
        }
        cabinet.post("credentials/payment-keys/:id/roll", .needs(.write(.credentials))) { _, context -> Response in
            let (principal, form, mode) = (context.principal, context.form, context.mode)
            let key = try await paymentKey(principal, mode: mode, id: try context.parameters.require("id"))
            let overlap: Int
            switch try await rollChoice(form, mode: mode, principal: principal) {
            case .success(let chosen): overlap = chosen
            case .failure(let refusal):
                return try paymentKeyRollPage(
                    context,
                    key,
                    message: refusal.message,
                    status: refusal.kind == .invalidInput ? .badRequest : .unauthorized
                )
            }
            let created = try await audited(context, .paymentKeyRoll, mode: mode) {
                try await services.paymentKeys.roll(
                    merchantID: principal.merchant.id,
                    mode: mode,
                    id: key.id,
                    overlapSeconds: overlap,
                    by: .member(principal.role)
                )
            }
            let old =
                overlap == 0
                ? "The old key …\(key.last4) stopped working now."
                : "The old key …\(key.last4) keeps working until \(CabinetDates.minute(services.clock.now().addingTimeInterval(TimeInterval(overlap)))) UTC."
            return try credentialCreatedPage(
                context,
                mode: mode,
                title: "Payment key rolled",
                secret: created.secret,
                fileName: "keyward-\(mode.rawValue)-payment-key.txt",
                steps: "\(old) Configure the new key as the HMAC key of your payment integration."
            )
        }
        cabinet.post("credentials/signing-keys", .needs(.write(.credentials))) { _, context -> Response in
            let (principal, form, mode) = (context.principal, context.form, context.mode)
            guard let algorithm = KeyAlgorithm(rawValue: form["algorithm"] ?? "") else {
                throw KeywardError(
                    .invalidInput,
                    .unsupportedAlgorithm,
                    "Choose one of \(KeyAlgorithm.allCases.map(\.rawValue).joined(separator: ", ")).",
                    field: "algorithm"
                )
            }
            let pair = try await services.heavyWork.run { try GeneratedKeyPair.generate(algorithm) }
            let limits = try Self.requestedLimits(form)
            let info = try await audited(context, .signingKeyGenerate, mode: mode) {
                try await services.signingKeys.register(
                    merchantID: principal.merchant.id,
                    mode: mode,
                    name: form["name"],
                    pem: pair.publicKey.spkiPEM,
                    limits: limits,
                    by: .member(principal.role)
                )
            }
            return try credentialCreatedPage(
                context,
                mode: mode,
                title: "Signing key generated",
                secret: pair.privateKeyPEM,
                fileName: "\(info.id).pem",
                steps:
                    "Keep this private key (PKCS#8 PEM) on the server that signs requests; Keyward kept only the public key. Sign with keyid \"\(info.id)\" (RFC 9421)."
            )
        }
        cabinet.post("credentials/signing-keys/register", .needs(.write(.credentials))) { _, context -> Response in
            let (principal, form, mode) = (context.principal, context.form, context.mode)
            return try await saveCredential("The public key", action: .signingKeySave, anchor: "signing-keys", context, mode) {
                try await services.signingKeys.register(
                    merchantID: principal.merchant.id,
                    mode: mode,
                    name: form["name"],
                    pem: form["public_key"] ?? "",
                    limits: try Self.requestedLimits(form),
                    by: .member(principal.role)
                ).id
            }
        }
        cabinet.post("credentials/jwks/register", .needs(.write(.credentials))) { _, context -> Response in
            let (principal, form, mode) = (context.principal, context.form, context.mode)
            return try await saveCredential("The JWK", action: .jwkSave, anchor: "jwks", context, mode) {
                try await services.jweKeys.register(
                    merchantID: principal.merchant.id,
                    mode: mode,
                    name: form["name"],
                    jwk: form["jwk"] ?? "",
                    limits: try Self.requestedLimits(form),
                    by: .member(principal.role)
                ).id
            }
        }
        cabinet.post("credentials/jwks/generate", .needs(.write(.credentials))) { _, context -> Response in
            let (principal, form, mode) = (context.principal, context.form, context.mode)
            let pair = JWK(
                material: .ecPrivate(.generate(.p384)),
                kid: UUID().uuidString.lowercased(),
                use: "enc",
                alg: JWEAlgorithm.ecdhESA256KW.rawValue
            )
            let limits = try Self.requestedLimits(form)
            let info = try await audited(context, .jwkGenerate, mode: mode) {
                try await services.jweKeys.register(
                    merchantID: principal.merchant.id,
                    mode: mode,
                    name: form["name"],
                    jwk: pair.publicJWK.json(),
                    limits: limits,
                    by: .member(principal.role)
                )
            }
            return try credentialCreatedPage(
                context,
                mode: mode,
                title: "JWK generated",
                secret: pair.json(includingPrivate: true),
                fileName: "\(info.id).jwk.json",
                steps:
                    "Give this private JWK (EC P-384) to the bank SDK that opens sessions; Keyward kept only the public part. Service code: \(try await services.jweKeys.serviceCode(merchantID: principal.merchant.id, mode: mode))."
            )
        }
        for kind in CredentialKind.allCases {
            cabinet.get("credentials/\(kind.rawValue)/:id/revoke", .needs(.write(.credentials))) { _, context -> Response in
                let (principal, mode) = (context.principal, context.mode)
                let id = try context.parameters.require("id")
                let name = try await credentialName(kind, merchantID: principal.merchant.id, mode: mode, id: id)
                var view = CabinetPage(context, title: "Revoke \(kind.title) \(name)")
                view.mode = mode.rawValue
                view.uri = "/cabinet/credentials/\(kind.rawValue)/\(id)/revoke"
                return try page("credential-revoke", view)
            }
            cabinet.post("credentials/\(kind.rawValue)/:id/revoke", .needs(.write(.credentials))) { _, context -> Response in
                let (principal, mode) = (context.principal, context.mode)
                let id = try context.parameters.require("id")
                try await audited(context, kind.revokeAction, mode: mode, target: id) {
                    switch kind {
                    case .paymentKeys: _ = try await services.paymentKeys.revoke(merchantID: principal.merchant.id, mode: mode, id: id)
                    case .signingKeys: _ = try await services.signingKeys.revoke(merchantID: principal.merchant.id, mode: mode, id: id)
                    case .jwks: _ = try await services.jweKeys.revoke(merchantID: principal.merchant.id, mode: mode, id: id)
                    }
                }
                return .redirect(to: "/cabinet/keys?mode=\(mode.rawValue)", type: .normal)
            }
        }
    }

    func paymentKey(_ principal: CabinetPrincipal, mode: Mode, id: String) async throws -> PaymentKeyInfo {
        guard let key = try await services.paymentKeys.list(merchantID: principal.merchant.id, mode: mode).first(where: { $0.id == id }) else {
            throw KeywardError(.notFound, .resourceMissing, "There is no such payment key in \(mode.rawValue) mode.")
        }
        return key
    }

    func paymentKeyRollPage(_ context: CabinetContext, _ key: PaymentKeyInfo, message: String?, status: HTTPResponse.Status) throws -> Response {
        try keyActionPage(
            context,
            id: key.id,
            name: key.label,
            masked: "…\(key.last4)",
            mode: key.mode,
            lastUsed: nil,
            action: .roll,
            actionURL: "/cabinet/credentials/payment-keys/\(key.id)/roll",
            message: message,
            status: status
        )
    }

    /// Saves a credential the member pasted: a refusal comes back as "<what> was not saved: <reason>", the
    /// change is audited with it, and the browser returns to its section of the Keys page.
    func saveCredential(
        _ what: String,
        action: AuditAction,
        anchor: String,
        _ context: CabinetContext,
        _ mode: Mode,
        _ save: () async throws -> String
    ) async throws -> Response {
        do { _ = try await audited(context, action, mode: mode, save) } catch let error as KeywardError where error.kind == .invalidInput {
            throw KeywardError(.invalidInput, error.code, "\(what) was not saved: \(error.message)")
        }
        return .redirect(to: "/cabinet/keys?mode=\(mode.rawValue)#\(anchor)", type: .normal)
    }

    /// The name of a credential of this merchant and mode (not found otherwise, so other merchants' ids lead nowhere).
    func credentialName(_ kind: CredentialKind, merchantID: String, mode: Mode, id: String) async throws -> String {
        let name: String? =
            switch kind {
            case .paymentKeys: try await services.paymentKeys.list(merchantID: merchantID, mode: mode).first { $0.id == id }?.label
            case .signingKeys: try await services.signingKeys.list(merchantID: merchantID, mode: mode).first { $0.id == id }?.name
            case .jwks: try await services.jweKeys.list(merchantID: merchantID, mode: mode).first { $0.id == id }?.name
            }
        guard let name else { throw KeywardError(.notFound, .resourceMissing, "There is no such \(kind.title) in \(mode.rawValue) mode.") }
        return name
    }

    func credentialCreatedPage(
        _ context: CabinetContext,
        mode: Mode,
        title: String,
        secret: String,
        fileName: String,
        steps: String
    ) throws -> Response {
        var view = CabinetPage(context, title: title)
        view.mode = mode.rawValue
        view.secret = secret
        view.uri = fileName
        view.reason = steps
        return try page("credential-created", view, status: .created)
    }

    /// The rows of the other credentials for the Keys page (escaped HTML, like the secret keys).
    func credentialSections(merchantID: String, mode: Mode, canWrite: Bool, csrf: String, now: Date) async throws -> String {
        let e = HTML.escape
        let query = "?mode=\(mode.rawValue)"
        func revoke(_ kind: CredentialKind, _ id: String, _ name: String, active: Bool) -> String {
            guard canWrite && active else { return "" }
            return
                "<a class=\"danger\" href=\"/cabinet/credentials/\(kind.rawValue)/\(e(id))/revoke\(query)\">Revoke<span class=\"visually-hidden\"> \(e(name))</span></a>"
        }
        var html =
            "<h2 id=\"payment-keys\">Payment keys (HMAC)</h2>\n<table><thead><tr><th scope=\"col\">Name</th><th scope=\"col\">Key</th><th scope=\"col\">Status</th><th scope=\"col\">Created</th><th scope=\"col\">Actions</th></tr></thead><tbody>\n"
        for key in try await services.paymentKeys.list(merchantID: merchantID, mode: mode) {
            let status = key.status(at: now)
            // A rolled key still works until its overlap ends, so it can still be revoked (not rolled again).
            html +=
                "<tr><td>\(e(key.label))</td><td><code>…\(e(key.last4))</code></td><td>\(status.rawValue)</td><td>\(CabinetDates.day(key.createdAt))</td><td>\(canWrite && status == .active ? "<a href=\"/cabinet/credentials/payment-keys/\(e(key.id))/roll\(query)\">Roll<span class=\"visually-hidden\"> \(e(key.label))</span></a> " : "")\(revoke(.paymentKeys, key.id, key.label, active: status.isUsable))</td></tr>\n"
        }
        html +=
            "</tbody></table>\n<h2 id=\"signing-keys\">Signing keys (RFC 9421)</h2>\n<table><thead><tr><th scope=\"col\">Name</th><th scope=\"col\">keyid</th><th scope=\"col\">Algorithm</th><th scope=\"col\">Status</th><th scope=\"col\">Created</th><th scope=\"col\">Actions</th></tr></thead><tbody>\n"
        for key in try await services.signingKeys.list(merchantID: merchantID, mode: mode) {
            let status = key.status(at: now)
            html +=
                "<tr><td>\(e(key.name))<br><small>\(e(Self.describe(key.limits)))</small></td><td><code>\(e(key.id))</code></td><td>\(e(key.algorithm))</td><td>\(status.rawValue)</td><td>\(CabinetDates.day(key.createdAt))</td><td>\(revoke(.signingKeys, key.id, key.name, active: status == .active))</td></tr>\n"
        }
        html +=
            "</tbody></table>\n<h2 id=\"stores\">Provider stores and key indexes</h2>\n<table><thead><tr><th scope=\"col\">Store</th><th scope=\"col\">Dialect</th><th scope=\"col\">Id at the provider</th><th scope=\"col\">Key indexes</th><th scope=\"col\">Actions</th></tr></thead><tbody>\n"
        var storeOptions = ""
        for store in try await services.stores.list(merchantID: merchantID, mode: mode) {
            let indexes = try await services.stores.keys(storeID: store.id).map { key in
                let base = "/cabinet/credentials/stores/\(e(store.id))/keys/\(key.keyIndex)"
                var text = "\(key.keyIndex) (\(e(key.algorithm)), \(e(Self.describe(key.limits)))"
                let status = key.status(at: now)
                if status == .revoked { return text + ", revoked)" }
                if status != .active { text += ", \(status.rawValue)" }
                text += ", <a href=\"\(base)/platform-certificate\(query)\">platform certificate</a>"
                if canWrite {
                    text +=
                        ", <a class=\"danger\" href=\"\(base)/revoke\(query)\">revoke<span class=\"visually-hidden\"> index \(key.keyIndex)</span></a>"
                }
                return text + ")"
            }.joined(separator: "<br>")
            let generate =
                canWrite
                ? "<form method=\"post\" action=\"/cabinet/credentials/stores/\(e(store.id))/keys/generate\"><input type=\"hidden\" name=\"csrf\" value=\"\(e(csrf))\">"
                    + "<input type=\"hidden\" name=\"mode\" value=\"\(mode.rawValue)\"><button type=\"submit\">Generate a key index<span class=\"visually-hidden\"> for \(e(store.name))</span></button></form>"
                : ""
            html +=
                "<tr><td>\(e(store.name))</td><td>\(e(store.dialect.rawValue))</td><td><code>\(e(store.externalID))</code></td><td>\(indexes)</td><td>\(generate)</td></tr>\n"
            storeOptions += "<option value=\"\(e(store.id))\">\(e(store.name)) (\(e(store.externalID)))</option>"
        }
        var storeForms = ""
        if canWrite {
            storeForms +=
                "<form class=\"card\" method=\"post\" action=\"/cabinet/credentials/stores\"><input type=\"hidden\" name=\"csrf\" value=\"\(e(csrf))\">"
                + "<input type=\"hidden\" name=\"mode\" value=\"\(mode.rawValue)\"><label for=\"store-name\">New store: name</label><input id=\"store-name\" name=\"name\" type=\"text\" maxlength=\"200\">"
                + "<label for=\"store-dialect\">Dialect</label><select id=\"store-dialect\" name=\"dialect\"><option value=\"mypos\">myPOS IPC (SID, wallet)</option><option value=\"alikassa\">AliKassa (account)</option></select>"
                + "<button type=\"submit\">Create store</button></form>\n"
            if !storeOptions.isEmpty {
                storeForms +=
                    "<form class=\"card\" method=\"post\" action=\"/cabinet/credentials/stores/keys\"><input type=\"hidden\" name=\"csrf\" value=\"\(e(csrf))\">"
                    + "<input type=\"hidden\" name=\"mode\" value=\"\(mode.rawValue)\"><label for=\"store-key-store\">Save your own RSA public key to</label><select id=\"store-key-store\" name=\"store\">\(storeOptions)</select>"
                    + "<label for=\"store-public-key\">Public key or certificate (PEM)</label><textarea id=\"store-public-key\" name=\"public_key\" rows=\"5\" style=\"width:100%\" required></textarea>"
                    + "<button type=\"submit\">Save public key</button></form>\n"
            }
        }
        html +=
            "</tbody></table>\n" + storeForms
            + "<h2 id=\"jwks\">JWKs (Alliance Bank)</h2>\n<p>Service code: <code>\(e(try await services.jweKeys.serviceCode(merchantID: merchantID, mode: mode)))</code></p>\n"
        html +=
            "<table><thead><tr><th scope=\"col\">Name</th><th scope=\"col\">Thumbprint</th><th scope=\"col\">Algorithm</th><th scope=\"col\">Status</th><th scope=\"col\">Actions</th></tr></thead><tbody>\n"
        for key in try await services.jweKeys.list(merchantID: merchantID, mode: mode) {
            let status = key.status(at: now)
            html +=
                "<tr><td>\(e(key.name))<br><small>\(e(Self.describe(key.limits)))</small></td><td><code>\(e(key.thumbprint))</code></td><td>\(e(key.algorithm))</td><td>\(status.rawValue)</td><td>\(revoke(.jwks, key.id, key.name, active: status != .revoked))</td></tr>\n"
        }
        return html + "</tbody></table>\n"
    }
}
