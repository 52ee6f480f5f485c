import Foundation
import HTTPTypes
import Hummingbird
import KeywardCore
import KeywardCrypto

/// `POST /v1/secret-scanning/reports`: the endpoint GitHub's secret scanning partner program (and any
/// scanner speaking its format) calls when a Keyward key is found in public.
///
/// Outside the `/v1` key authentication: the caller is a scanner, proven by `Github-Public-Key-Identifier`
/// and `Github-Public-Key-Signature` (base64 DER ECDSA P-256 SHA-256 over the raw body) against the keys
/// in `secret_scanning_keys`. Order of the checks: configured (503), both headers (401), known key
/// (401, before the body is read), body size (413), signature over the exact bytes (401), and only
/// then the JSON (400, 413 for too many tokens). The answer is GitHub's feedback array.
struct SecretScanningController {
    static let path = "/v1/secret-scanning/reports"
    static let identifierHeader = HTTPField.Name("Github-Public-Key-Identifier")!
    static let signatureHeader = HTTPField.Name("Github-Public-Key-Signature")!

    let keys: SecretScanningKeys?
    let leakedKeys: LeakedKeyService
    let maxBodyBytes: Int
    let maxTokens: Int

    init(services: KeywardServices) {
        keys = services.scannerKeys
        leakedKeys = services.leakedKeys
        maxBodyBytes = services.settings.secretScanningMaxBodyBytes
        maxTokens = services.settings.secretScanningMaxTokens
    }

    /// Registered on the router itself, before the `/v1` group: a static path wins over the gateway's
    /// `/v1/**`, and the secret-key middleware of the group never sees the scanner's call.
    func addRoutes(to router: Router<KeywardRequestContext>, table: RouteTable) {
        table.record(method: "POST", path: Self.path, requirement: "none: scanner signature (Github-Public-Key-Signature)")
        router.post(RouterPath(Self.path)) { request, context in try await receive(request, context) }
    }

    func receive(_ request: Request, _ context: KeywardRequestContext) async throws -> Response {
        guard let keys else {
            throw KeywardError(
                .unavailable,
                .secretScanningNotConfigured,
                "This Keyward accepts no leak reports yet: the operator has not set secret_scanning_keys."
            )
        }
        guard let identifier = request.headers[Self.identifierHeader], !identifier.isEmpty,
            let signature = request.headers[Self.signatureHeader], !signature.isEmpty
        else {
            throw KeywardError(
                .unauthenticated,
                .signatureMissing,
                "A leak report is signed: send Github-Public-Key-Identifier and Github-Public-Key-Signature."
            )
        }
        guard keys.knows(identifier) else {
            throw KeywardError(.unauthenticated, .unknownScannerKey, "No trusted scanner key has this Github-Public-Key-Identifier.")
        }
        var request = request
        let body: Data
        do {
            body = Data(buffer: try await request.collectBody(upTo: maxBodyBytes))
        } catch {
            throw KeywardError(.tooLarge, .bodyTooLarge, "A leak report may be at most \(maxBodyBytes) bytes; send it in parts.")
        }
        guard keys.verify(body: body, identifier: identifier, signature: signature) == .valid else {
            throw KeywardError(
                .unauthenticated,
                .signatureInvalid,
                "Github-Public-Key-Signature is not a valid ECDSA P-256 SHA-256 signature of this body by that key."
            )
        }
        let tokens = try LeakReportFormat.parse(body, maxTokens: maxTokens)
        let started = ContinuousClock.now
        let outcome = try await leakedKeys.process(tokens, scanner: identifier)
        // Counts only: never a token, nor its hash, in a log line.
        context.logger.notice(
            "secret scanning report processed",
            metadata: [
                "scanner_key": "\(identifier.prefix(16))", "tokens": "\(tokens.count)",
                "true_positives": "\(outcome.feedback.filter { $0.label == "true_positive" }.count)",
                "new_leaks": "\(outcome.recorded)", "keys_stopped": "\(outcome.stopped)", "took": "\(ContinuousClock.now - started)",
            ]
        )
        return try JSONResponse.make(outcome.feedback)
    }

    /// Reads the scanners' key file named by `secret_scanning_keys` (at start: a server told to trust
    /// scanners refuses to start without their keys rather than answer every report 503).
    static func loadKeys(settings: Settings) throws -> SecretScanningKeys? {
        guard let path = settings.secretScanningKeys else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else { throw SettingsError("secret_scanning_keys: \(path) cannot be read") }
        do {
            return try SecretScanningKeys(json: data)
        } catch {
            throw SettingsError("secret_scanning_keys: \(path): \(error.description)")
        }
    }
}
