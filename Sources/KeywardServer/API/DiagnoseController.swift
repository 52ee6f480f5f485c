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
        let method = input.method ?? (input.body.isEmpty ? "GET" : "POST")
        guard let view = ManualSigning.requestView(method: method, url: url, headers: headers) else {
            return report.fail("url", .invalidField, "'url' must be an absolute https URL.")
        }
        let body = Array(input.body.utf8)
        // The gateway's steps for the key's owner: the nonce is looked up, never used up.
        report.render(
            try await verification.httpSignature(request: view, expectsBody: !body.isEmpty, audience: .owner(merchantID: merchantID)) { body }
        )
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
