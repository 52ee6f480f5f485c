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

    func myPOS(_ input: DiagnoseBody, merchantID: String, report: inout DiagnosisReport) async throws {
        let body = Array(input.body.utf8)
        let parameters: [(name: String, value: String)]
        do { parameters = try FormEncoding.decode(body) } catch { return report.fail("form", .malformedForm, error.reason) }
        report.pass("form", "\(parameters.count) parameters decoded, in the order sent.")
        guard parameters.contains(where: { $0.name == MyPOSIPC.signatureParameter }) else {
            return report.fail("signature_present", .signatureMissing, "The form has no Signature parameter.")
        }
        var seen = Set<String>()
        if let duplicate = parameters.first(where: { !seen.insert($0.name).inserted }) {
            return report.fail("parameters", .duplicateParameter, "Parameter '\(duplicate.name.prefix(64))' appears more than once.")
        }
        let sid = parameters.first { $0.name == "SID" }?.value ?? ""
        guard let resolved = try await directory.resolve(.mypos, externalID: sid), resolved.store.merchantID == merchantID,
              resolved.store.mode == .test else {
            return report.fail("store", .unknownStore, "None of your test-mode stores has SID '\(sid.prefix(32))'.")
        }
        if let wallet = parameters.first(where: { $0.name == "WalletNumber" })?.value, let expected = resolved.store.walletNumber, wallet != expected {
            return report.fail("store", .unknownStore, "WalletNumber '\(wallet.prefix(32))' is not the wallet of store '\(sid)' (\(expected)).")
        }
        report.pass("store", "SID '\(sid)' is your store '\(resolved.store.name)'.")
        let now = clock.now()
        let usable = resolved.keys.filter { $0.isUsable(at: now) }
        let indexText = parameters.first { $0.name == "KeyIndex" }?.value ?? ""
        guard let index = Int(indexText), let key = resolved.key(index: index, now: now) else {
            let matching = usable.first { MyPOSIPC.verify(parameters, with: $0.verificationKey) == .valid }
            let hint = matching.map { " The signature matches key index \($0.info.keyIndex): send KeyIndex=\($0.info.keyIndex)." } ?? ""
            return report.fail("key_index", .unknownKeyIndex, "Store '\(sid)' has no active key index '\(indexText.prefix(16))' (active: \(usable.map { String($0.info.keyIndex) }.joined(separator: ", "))).\(hint)")
        }
        report.pass("key_index", "Key index \(index) is active (\(key.info.algorithm)).")
        if MyPOSIPC.verify(parameters, with: key.verificationKey) == .valid {
            return report.succeed("signature", "The Signature verifies with key index \(index): the gateway accepts this request.")
        }
        let others = usable.filter { $0.info.keyIndex != index }.map { (index: $0.info.keyIndex, key: $0.verificationKey) }
        if let explanation = SignatureDiagnosis.myPOS(parameters, rawPairs: FormEncoding.rawPairs(body), claimed: (index, key.verificationKey), otherKeys: others) {
            return report.fail("signature", explanation.code, explanation.reason)
        }
        report.fail("signature", .signatureInvalid, "The Signature does not match key index \(index), and no usual mistake explains it: a value changed after signing, or another private key signed it.")
    }

    func aliKassa(_ input: DiagnoseBody, merchantID: String, report: inout DiagnosisReport) async throws {
        let headers = input.headers ?? [:]
        let account = (headers.first { $0.key.lowercased() == "account" }?.value ?? "").trimmingCharacters(in: .whitespaces)
        let lookup = UUID(uuidString: account)?.uuidString.lowercased() ?? account
        guard let resolved = try await directory.resolve(.alikassa, externalID: lookup), resolved.store.merchantID == merchantID,
              resolved.store.mode == .test else {
            return report.fail("store", .unknownStore, "None of your test-mode stores has account '\(account.prefix(40))' (the Account header).")
        }
        report.pass("store", "Account '\(lookup)' is your store '\(resolved.store.name)'.")
        guard let sign = headers.first(where: { $0.key.lowercased() == "sign" })?.value, !sign.isEmpty else {
            return report.fail("signature_present", .signatureMissing, "There is no Sign header.")
        }
        let usable = resolved.keys.filter { $0.isUsable(at: clock.now()) }
        guard !usable.isEmpty else { return report.fail("key_index", .unknownKeyIndex, "The store has no active key.") }
        let body = Array(input.body.utf8)
        if let match = usable.first(where: { AliKassa.verify(body: body, signature: sign, with: $0.verificationKey, digest: $0.info.digest) == .valid }) {
            return report.succeed("signature", "The Sign header verifies with key index \(match.info.keyIndex) (\(match.info.digest.rawValue)).")
        }
        let keys = usable.map { (index: $0.info.keyIndex, key: $0.verificationKey, digest: $0.info.digest) }
        if let explanation = SignatureDiagnosis.aliKassa(body: body, signature: sign, keys: keys) {
            return report.fail("signature", explanation.code, explanation.reason)
        }
        report.fail("signature", .signatureInvalid, "The Sign header matches none of the store's keys over these exact body bytes: the body changed after signing, or another private key signed it.")
    }

    func rfc9421(_ input: DiagnoseBody, merchantID: String, report: inout DiagnosisReport) async throws {
        guard let url = input.url else { throw KeywardError(.invalidInput, .missingField, "'url' (the URL the request was sent to) is required for rfc9421.", field: "url") }
        let headers = (input.headers ?? [:]).map { (name: $0.key, value: $0.value) }
        let inputHeader = headers.first { $0.name.lowercased() == "signature-input" }?.value ?? ""
        guard let keyID = (try? HTTPMessageSignatures.parseInputs(inputHeader))?.first?.keyID else {
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
            (try? ManualSigning.verifyRFC9421(method: method, url: url, body: body, headers: headers, publicKey: resolved.key, now: now, ignoreTime: ignoreTime))
                ?? .invalid(code: .invalidField, reason: "'url' must be an absolute https URL.")
        }
        switch check(url) {
        case .valid:
            report.succeed("signature", "The signature verifies (its nonce was not used up by this diagnosis).")
        case .invalid(let code, let reason) where code == .signatureInvalid:
            let variants: [(String, String)] = [
                (url.replacingOccurrences(of: "https://", with: "http://"), "The request was signed for an http:// URL; Keyward is reached over https, and @target-uri must say so."),
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
        steps.append(Step(step: step, ok: false, detail: detail))
        self.code = code
        explanation = detail
    }
}
