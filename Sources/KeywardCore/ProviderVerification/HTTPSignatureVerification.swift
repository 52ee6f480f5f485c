import Foundation
import KeywardCrypto
import KeywardDialects

/// RFC 9421 HTTP Message Signatures (`Signature-Input` and `Signature`, `keyid` naming a registered
/// signing key): signature present → key index → algorithm → created → nonce → covered components →
/// signature, judged from the headers alone; then, once the body is read, content digest → key expiry →
/// origin → replay. That is the order the gateway has always judged them in, so its codes are what they
/// were; a request refused by its headers is refused before any of its body is read.
extension ProviderVerification {
    /// A signing key as `SigningKeyService.resolve` finds it.
    typealias ResolvedSigningKey = (key: VerificationKey, owner: SigningKeyInfo, mid: String, merchantAllowedIPs: [IPNetwork])

    struct HTTPSignatureState: Sendable {
        let request: HTTPRequestView
        let expectsBody: Bool
        let audience: VerificationAudience
        /// Seconds since 1970, read once: every time check of one request uses the same clock reading.
        let now: Int
        var headers: NativeSignature.Headers?
        var resolved: ResolvedSigningKey?
        var algorithm: HTTPSignatureAlgorithm?
        var created = 0
        var body: [UInt8] = []
        var principal: AuthenticatedKey?
    }

    /// What RFC 9421 signatures must satisfy (window, algorithms, covered components, nonce).
    static let httpSignaturePolicy = NativeSignature.Policy()

    /// Verifies an RFC 9421 signed request for `audience`. `expectsBody` says a body is declared (it must
    /// then be covered by a `content-digest`). `body` is called once, after the header steps passed;
    /// what it throws (a body over the limit) is thrown from here, as is a storage failure. A refusal is
    /// the run's `failure`.
    public func httpSignature(
        request: HTTPRequestView,
        expectsBody: Bool,
        audience: VerificationAudience,
        body: () async throws -> [UInt8]
    ) async throws -> ProviderVerificationRun {
        let now = Int(clock.now().timeIntervalSince1970)
        var state = HTTPSignatureState(request: request, expectsBody: expectsBody, audience: audience, now: now)
        var run = ProviderVerificationRun()
        try await VerificationSteps(steps: httpSignatureHeaderSteps).run(&state, into: &run)
        if run.failure == nil {
            state.body = try await body()
            try await VerificationSteps(steps: httpSignatureBodySteps).run(&state, into: &run)
        }
        if run.failure == nil { run.principal = state.principal }
        return run
    }

    /// Runs a check of `NativeSignature` as a step: its refusal is the gateway's answer (401 and its code).
    private func check<T>(_ result: Result<T, NativeSignature.Refusal>, pass: (T) -> String) -> StepOutcome {
        switch result {
        case .success(let value): .pass(pass(value))
        case .failure(let refusal): .fail(KeywardError(.unauthenticated, refusal.code, refusal.reason))
        }
    }

    var httpSignatureHeaderSteps: [VerificationSteps<HTTPSignatureState>.Step] {
        let policy = Self.httpSignaturePolicy
        return [
            (
                "signature_present",
                { state in
                    let parsed = NativeSignature.parse(state.request)
                    if case .success(let headers) = parsed { state.headers = headers }
                    return check(parsed) { "Signature-Input and Signature name signature '\($0.input.label.prefix(64))'." }
                }
            ),
            ("key_index", { state in try await httpSignatureKey(&state) }),
            (
                "algorithm",
                { state in
                    guard let input = state.headers?.input, let resolved = state.resolved else { return .notApplicable }
                    let result = NativeSignature.checkAlgorithm(input, key: resolved.key, keyID: resolved.owner.id, policy: policy)
                    if case .success(let algorithm) = result { state.algorithm = algorithm }
                    return check(result) { "The signature uses \($0.rawValue), which fits the key." }
                }
            ),
            (
                "created",
                { state in
                    guard let input = state.headers?.input else { return .notApplicable }
                    let result = NativeSignature.checkTime(input, now: state.now, policy: policy)
                    if case .success(let created) = result { state.created = created }
                    let now = state.now
                    return check(result) {
                        let when = now >= $0 ? "\(now - $0) s ago" : "\($0 - now) s ahead of the server clock"
                        return "It was created \(when), within the \(policy.window) s allowed."
                    }
                }
            ),
            (
                "nonce",
                { state in
                    guard let input = state.headers?.input else { return .notApplicable }
                    return check(NativeSignature.checkNonce(input, policy: policy)) { "It has a nonce." }
                }
            ),
            (
                "covered_components",
                { state in
                    guard let input = state.headers?.input else { return .notApplicable }
                    let result = NativeSignature.checkCoverage(request: state.request, input: input, expectsBody: state.expectsBody, policy: policy)
                    return check(result) { "It covers \(input.components.joined(separator: " "))." }
                }
            ),
            ("signature", { state in httpSignatureSignature(&state) }),
        ]
    }

    var httpSignatureBodySteps: [VerificationSteps<HTTPSignatureState>.Step] {
        [
            (
                "content_digest",
                { state in
                    guard let headers = state.headers, !state.body.isEmpty else { return .notApplicable }
                    return check(NativeSignature.checkBody(request: state.request, headers: headers, body: state.body)) {
                        "The body matches its Content-Digest."
                    }
                }
            ),
            ("key_expiry", { state in httpSignatureKeyExpiry(&state) }),
            (
                "origin",
                { state in
                    guard let principal = state.principal else { return .notApplicable }
                    guard state.audience.isOwner else { return origin(principal, audience: state.audience) }
                    // A pasted request comes from nowhere: say where the gateway will accept it from.
                    let limits = [("the key", principal.allowedIPs), ("the merchant", principal.merchantAllowedIPs)].filter { !$0.1.isEmpty }
                    guard !limits.isEmpty else { return .notApplicable }
                    let allowed = limits.map { "\($0.0) allows \($0.1.map(\.description).joined(separator: ", "))" }.joined(separator: " and ")
                    return .pass("The gateway judges the address this request is sent from: \(allowed).")
                }
            ),
            ("replay", { state in try await httpSignatureReplay(state) }),
        ]
    }

    /// The `key_index` step: the `keyid` names a registered key that is not revoked (nor past its
    /// certificate's end); for the owner, one of its own test-mode keys.
    private func httpSignatureKey(_ state: inout HTTPSignatureState) async throws -> StepOutcome {
        guard let headers = state.headers else { return .notApplicable }
        let keyID: String
        switch NativeSignature.keyID(of: headers) {
        case .failure(let refusal): return .fail(KeywardError(.unauthenticated, refusal.code, refusal.reason))
        case .success(let value): keyID = value
        }
        var resolved = try await KeywardError.unlessStorageFails(checking: "Signing keys") { try await signingKeys.resolve(id: keyID) }
        if case .owner(let merchantID) = state.audience, let owner = resolved?.owner, owner.merchantID != merchantID || owner.mode != .test {
            resolved = nil
        }
        guard let resolved else {
            let refusal = NativeSignature.unknownKey(keyID)
            return .fail(
                KeywardError(.unauthenticated, refusal.code, refusal.reason),
                detail: state.audience.isOwner ? "None of your active test-mode signing keys has id '\(keyID.prefix(64))'." : nil
            )
        }
        state.resolved = resolved
        return .pass("keyid '\(keyID)' is your signing key '\(resolved.owner.name)' (\(resolved.owner.algorithm)).")
    }

    /// The `signature` step; the owner learns which usual mistake (an http:// URL, the query left out of
    /// `@target-uri`) reproduces a signature that does not match.
    private func httpSignatureSignature(_ state: inout HTTPSignatureState) -> StepOutcome {
        guard let headers = state.headers, let resolved = state.resolved, let algorithm = state.algorithm else { return .notApplicable }
        let result = NativeSignature.checkSignature(request: state.request, headers: headers, key: resolved.key, algorithm: algorithm)
        guard case .failure(let refusal) = result else { return .pass("The signature verifies with key '\(resolved.owner.name)'.") }
        let error = KeywardError(.unauthenticated, refusal.code, refusal.reason)
        guard state.audience.isOwner, refusal.code == .signatureInvalid else { return .fail(error) }
        var plain = state.request
        plain.scheme = "http"
        var withoutQuery = state.request
        withoutQuery.query = nil
        let variants: [(view: HTTPRequestView, applies: Bool, hint: String)] = [
            (
                plain, state.request.scheme == "https",
                "The request was signed for an http:// URL; Keyward is reached over https, and @target-uri must say so."
            ),
            (withoutQuery, state.request.query != nil, "The signature leaves the query string out of @target-uri; sign the full URL."),
        ]
        let hint = variants.first {
            $0.applies
                && NativeSignature.checkSignature(request: $0.view, headers: headers, key: resolved.key, algorithm: algorithm).isSuccess
        }
        return .fail(error, detail: hint?.hint)
    }

    /// The `key_expiry` step: a key past the expiry of its limits is refused (`key_expired`); then the
    /// principal is known.
    private func httpSignatureKeyExpiry(_ state: inout HTTPSignatureState) -> StepOutcome {
        guard let resolved = state.resolved else { return .notApplicable }
        let owner = resolved.owner
        if let expiresAt = owner.limits.expiresAt, expiresAt <= clock.now() {
            return .fail(KeywardError(.unauthenticated, .keyExpired, "Signing key \(owner.id) expired at \(expiresAt.formatted(.iso8601))."))
        }
        state.principal = AuthenticatedKey(
            keyID: owner.id,
            merchantID: owner.merchantID,
            mid: resolved.mid,
            mode: owner.mode,
            permissions: owner.limits.permissions,
            allowedIPs: owner.limits.allowedIPs,
            expiresAt: owner.limits.expiresAt,
            revokedAt: nil,
            replacedBy: nil,
            scheme: .httpSignature,
            merchantAllowedIPs: resolved.merchantAllowedIPs
        )
        return .pass(owner.limits.expiresAt.map { "The key is valid until \($0.formatted(.iso8601))." } ?? "The key does not expire.")
    }

    /// The `replay` step: the gateway uses the nonce up (a second use is refused); the diagnosis only
    /// looks whether it was used already.
    private func httpSignatureReplay(_ state: HTTPSignatureState) async throws -> StepOutcome {
        guard let resolved = state.resolved, let nonce = state.headers?.input.nonce else { return .notApplicable }
        let keyID = resolved.owner.id
        let fresh: Bool
        if state.audience.isOwner {
            fresh = try await KeywardError.unlessStorageFails(checking: "Signing keys") {
                try await !signingKeys.nonceWasUsed(keyID: keyID, nonce: nonce)
            }
        } else {
            // The signature stays acceptable while the whole-second clock reads created + window, that is until
            // created + window + 1: the nonce must outlive that, or a replay in the last second would pass.
            let expires = Date(timeIntervalSince1970: Double(state.created + Self.httpSignaturePolicy.window + 1))
            fresh = try await KeywardError.unlessStorageFails(checking: "Signing keys") {
                try await signingKeys.useNonce(keyID: keyID, nonce: nonce, expires: expires)
            }
        }
        guard fresh else {
            return .fail(KeywardError(.unauthenticated, .replayedRequest, "This signature's nonce was already used; sign every request anew."))
        }
        return .pass(state.audience.isOwner ? "The nonce was not used yet (this diagnosis did not use it up)." : "The nonce is now used up.")
    }
}

extension Result {
    fileprivate var isSuccess: Bool { if case .success = self { true } else { false } }
}
