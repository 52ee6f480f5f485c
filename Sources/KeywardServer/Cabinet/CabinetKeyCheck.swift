import Foundation
import Hummingbird
import KeywardCore
import KeywardCrypto

/// "Make a test request": a ready curl command, a secret key checked exactly as the gateway would check
/// it (from the browser's address), and the step-by-step diagnosis of a refused signed test request
/// (myPOS, AliKassa, RFC 9421). Nothing pasted here is stored or logged, and a pasted secret is never
/// shown back; the answers tell no more than the gateway tells whoever holds the secret.
extension CabinetController {
    func addKeyCheckRoutes(to cabinet: CabinetRoutes) {
        cabinet.get("keys/check", .needs(.read(.credentials))) { request, context -> Response in
            try keyCheckPage(context, request, mode: context.mode, result: nil)
        }
        cabinet.post("keys/check", .needs(.read(.credentials))) { request, context -> Response in
            let (principal, form, mode) = (context.principal, context.form, context.mode)
            if let dialect = form["dialect"] {
                let report = try await diagnoseSignedRequest(form, dialect: dialect, merchantID: principal.merchant.id)
                return try keyCheckPage(context, request, mode: mode, result: report)
            }
            return try keyCheckPage(
                context,
                request,
                mode: mode,
                result: await checkSecretKey(form["key"] ?? "", principal: principal, context: context)
            )
        }
    }

    func keyCheckPage(_ context: CabinetContext, _ request: Request, mode: Mode, result: KeyCheckResult?) throws -> Response {
        var view = CabinetPage(context, title: "Make a test request")
        view.mode = mode.rawValue
        view.baseURL = services.settings.publicBaseURL
        view.keyCheck = result
        return try page("key-check", view)
    }

    /// Authenticates a pasted key the way the gateway does, then says what a call with it would get.
    func checkSecretKey(_ pasted: String, principal: CabinetPrincipal, context: CabinetContext) async -> KeyCheckResult {
        var notes: [String] = []
        var value = pasted
        if value.lowercased().hasPrefix("authorization:") { value = String(value.dropFirst("authorization:".count)) }
        let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed != value.trimmingCharacters(in: .whitespaces) || pasted.hasSuffix(" ") {
            notes.append("The value had spaces or line breaks around it; make sure your code sends the key without them.")
        }
        value = trimmed
        if value.lowercased().hasPrefix("bearer ") { value = String(value.dropFirst(7)).trimmingCharacters(in: .whitespaces) }
        do {
            let key = try await services.authenticator.authenticate(value, clientAddress: context.clientAddress)
            guard key.merchantID == principal.merchant.id else {
                return KeyCheckResult(
                    ok: false,
                    code: "other_merchant",
                    explanation: "This key works, but it belongs to another merchant, not \(principal.merchant.name).",
                    hint: "Use a key generated in this cabinet.",
                    steps: [],
                    notes: notes
                )
            }
            let scope = key.permissions.map { "restricted to " + $0.joined(separator: ", ") } ?? "unrestricted"
            let networks = key.allowedIPs.isEmpty ? "any address" : key.allowedIPs.map(\.description).joined(separator: ", ")
            return KeyCheckResult(
                ok: true,
                code: nil,
                explanation: "Key \(key.keyID) authenticates in \(key.mode.rawValue) mode: \(scope), usable from \(networks).",
                hint: nil,
                steps: [],
                notes: notes
            )
        } catch {
            return KeyCheckResult(
                ok: false,
                code: error.code.rawValue,
                explanation: error.message,
                hint: Self.keyHints[error.code],
                steps: [],
                notes: notes
            )
        }
    }

    /// What to do about each refusal of a secret key.
    static let keyHints: [ErrorCode: String] = [
        .missingCredentials: "Paste the key, or the whole Authorization header your code sends.",
        .invalidKey: "Keys are shown only once: if yours was lost or mistyped, generate a new one (or roll the old one).",
        .keyRevoked: "A revoked key never works again: generate a new key and deploy it.",
        .keyExpired: "Deploy the key that replaced it, or generate a new one.",
        .ipNotAllowed:
            "This check came from your browser's address. Calls from your servers are judged by theirs: add them to the key's allowlist or the merchant's (Settings).",
    ]

    func diagnoseSignedRequest(_ form: [String: String], dialect: String, merchantID: String) async throws -> KeyCheckResult {
        var headers: [String: String] = [:]
        for line in (form["headers"] ?? "").split(whereSeparator: \.isNewline) {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].trimmingCharacters(in: .whitespaces)] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let input = DiagnoseBody(
            dialect: dialect,
            body: form["body"] ?? "",
            headers: headers,
            method: form["method"].flatMap { $0.isEmpty ? nil : $0 },
            url: form["url"].flatMap { $0.isEmpty ? nil : $0 }
        )
        let diagnosis = DiagnoseController(directory: services.storeDirectory, signingKeys: services.signingKeys, clock: services.clock)
        let report: DiagnosisReport
        do { report = try await diagnosis.diagnose(input, merchantID: merchantID) } catch let error as KeywardError where error.kind == .invalidInput
        {
            return KeyCheckResult(ok: false, code: error.code.rawValue, explanation: error.message, hint: nil, steps: [], notes: [])
        }
        return KeyCheckResult(
            ok: report.valid,
            code: report.code?.rawValue,
            explanation: report.explanation ?? "",
            hint: nil,
            steps: report.steps.map { KeyCheckStep(ok: $0.ok, step: $0.step, detail: $0.detail) },
            notes: []
        )
    }
}

/// The outcome shown on the test-request page.
struct KeyCheckResult: Sendable {
    let ok: Bool
    let code: String?
    let explanation: String
    let hint: String?
    let steps: [KeyCheckStep]
    let notes: [String]
}

struct KeyCheckStep: Sendable { let ok: Bool, step: String, detail: String }
