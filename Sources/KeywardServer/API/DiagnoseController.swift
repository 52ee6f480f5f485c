import Foundation
import Hummingbird
import KeywardCore
import KeywardCrypto
import KeywardDialects

/// `POST /v1/auth/diagnose` (test mode): takes a signed request exactly as the merchant sent it and says
/// which step fails (store, key index, digest, signature) and, where one of the usual mistakes
/// reproduces the signature, which one. It never consumes a nonce and only looks at the caller's own
/// test-mode stores and keys, so it reveals nothing a test key could not already see.
struct DiagnoseController {
    let directory: StoreDirectory
    let signingKeys: SigningKeyService
    let clock: KeywardClock

    func addRoutes(to group: RouterGroup<KeywardRequestContext>, table: RouteTable) {
        table.record(method: "POST", path: "/v1/auth/diagnose", requirement: "test-mode secret key")
        group.post("auth/diagnose") { request, context in
            let caller = try context.requireKey()
            guard caller.scheme == .secretKey, caller.mode == .test else {
                throw KeywardError(.forbidden, .testModeOnly, "Diagnosis takes a test-mode secret key: it explains test requests only.")
            }
            let input = try await JSONBody.decode(DiagnoseBody.self, from: request)
            return try JSONResponse.make(try await diagnose(input, merchantID: caller.merchantID))
        }
    }

    /// Diagnoses a signed request against the merchant's test-mode stores and keys (the API and the
    /// cabinet's test-request helper both answer with this).
    func diagnose(_ input: DiagnoseBody, merchantID: String) async throws -> DiagnosisReport {
        var report = DiagnosisReport(dialect: input.dialect)
        switch input.dialect {
        case "mypos": try await myPOS(input, merchantID: merchantID, report: &report)
        case "alikassa": try await aliKassa(input, merchantID: merchantID, report: &report)
        case "rfc9421": try await rfc9421(input, merchantID: merchantID, report: &report)
        default:
            throw KeywardError(.invalidInput, .invalidDialect, "'dialect' must be mypos, alikassa or rfc9421.", field: "dialect")
        }
        return report
    }

    /// The steps the gateway runs (`ProviderVerification`), run for the store's owner: every step run is
    /// listed, so the diagnosis and the gateway cannot disagree on which step fails.
    var verification: ProviderVerification { ProviderVerification(directory: directory, signingKeys: signingKeys, clock: clock) }

    func myPOS(_ input: DiagnoseBody, merchantID: String, report: inout DiagnosisReport) async throws {
        report.render(try await verification.myPOS(body: Array(input.body.utf8), audience: .owner(merchantID: merchantID)))
    }

    func aliKassa(_ input: DiagnoseBody, merchantID: String, report: inout DiagnosisReport) async throws {
        let headers = (input.headers ?? [:]).map { (name: $0.key, value: $0.value) }
        report.render(try await verification.aliKassa(headers: headers, audience: .owner(merchantID: merchantID)) { Array(input.body.utf8) })
    }

    func rfc9421(_ input: DiagnoseBody, merchantID: String, report: inout DiagnosisReport) async throws {
        guard let url = input.url else {
            throw KeywardError(.invalidInput, .missingField, "'url' (the URL the request was sent to) is required for rfc9421.", field: "url")
        }
        let headers = (input.headers ?? [:]).map { (name: $0.key, value: $0.value) }
        let inputHeader = headers.first { $0.name.lowercased() == "signature-input" }?.value ?? ""
        let signatureInput = (try? HTTPMessageSignatures.parseInputs(inputHeader))?.first
        guard let keyID = signatureInput?.keyID else {
            return report.fail("signature_present", .signatureMissing, "No Signature-Input header with a keyid.")
        }
        guard let resolved = try await signingKeys.resolve(id: keyID), resolved.owner.merchantID == merchantID, resolved.owner.mode == .test else {
            return report.fail("key_index", .unknownKeyIndex, "None of your active test-mode signing keys has id '\(keyID.prefix(64))'.")
        }
        report.pass("key_index", "keyid '\(keyID)' is your signing key '\(resolved.owner.name)' (\(resolved.owner.algorithm)).")
        let method = input.method ?? (input.body.isEmpty ? "GET" : "POST")
        let body = Array(input.body.utf8)
        let now = Int(clock.now().timeIntervalSince1970)
        func check(_ url: String, ignoreTime: Bool = false) -> SignatureCheck {
            (try? ManualSigning.verifyRFC9421(
                method: method,
                url: url,
                body: body,
                headers: headers,
                publicKey: resolved.key,
                now: now,
                ignoreTime: ignoreTime
            ))
                ?? .invalid(code: .invalidField, reason: "'url' must be an absolute https URL.")
        }
        switch check(url) {
        case .valid:
            // The gateway refuses a nonce it has seen: say so here too (read only: the diagnosis uses nothing up).
            if let nonce = signatureInput?.nonce, try await signingKeys.nonceWasUsed(keyID: resolved.owner.id, nonce: nonce) {
                report.pass("signature", "The signature verifies.")
                return report.fail("replay", .replayedRequest, "This signature's nonce was already used; sign every request anew.")
            }
            report.succeed("signature", "The signature verifies (its nonce was not used up by this diagnosis).")
        case .invalid(let code, let reason) where code == .signatureInvalid:
            let variants: [(String, String)] = [
                (
                    url.replacingOccurrences(of: "https://", with: "http://"),
                    "The request was signed for an http:// URL; Keyward is reached over https, and @target-uri must say so."
                ),
                (url.components(separatedBy: "?").first ?? url, "The signature leaves the query string out of @target-uri; sign the full URL."),
            ]
            let hint = variants.first { $0.0 != url && check($0.0, ignoreTime: true) == .valid }?.1
            report.fail("signature", code, hint ?? reason)
        case .invalid(let code, let reason):
            report.fail(code == .digestMismatch ? "content_digest" : "signature", code, reason)
        }
    }
}

struct DiagnoseBody: StrictJSONBody {
    static let fields: Set<String> = ["dialect", "body", "headers", "method", "url"]
    let dialect: String
    let body: String
    let headers: [String: String]?
    let method: String?
    let url: String?
}

/// The answer: each step checked, in order, and the first that failed with its gateway problem code.
struct DiagnosisReport: Encodable {
    struct Step: Encodable {
        let step: String
        let ok: Bool
        let detail: String
        /// The gateway's problem code, on the step that failed.
        var code: ErrorCode?
    }

    let object = "diagnosis"
    let dialect: String
    var valid = false
    var code: ErrorCode?
    var explanation: String?
    var steps: [Step] = []

    init(dialect: String) { self.dialect = dialect }

    mutating func pass(_ step: String, _ detail: String) { steps.append(Step(step: step, ok: true, detail: detail)) }

    mutating func succeed(_ step: String, _ detail: String) {
        pass(step, detail)
        valid = true
        explanation = detail
    }

    mutating func fail(_ step: String, _ code: ErrorCode, _ detail: String) {
        steps.append(Step(step: step, ok: false, detail: detail, code: code))
        self.code = code
        explanation = detail
    }

    /// Lists a verification's steps. `code` is the failing step's code, or the more precise one a usual
    /// mistake explains; on success the explanation is the signature step's.
    mutating func render(_ run: ProviderVerificationRun) {
        steps += run.steps.map { Step(step: $0.name, ok: $0.passed, detail: $0.detail, code: $0.code) }
        if let failure = run.failure {
            code = failure.diagnosisCode
            explanation = failure.detail
        } else {
            valid = true
            explanation = run.steps.last { $0.name == "signature" }?.detail
        }
    }
}
