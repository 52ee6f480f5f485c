import Foundation
import KeywardDialects

/// AliKassa (`Account` and `Sign` headers over the raw body): account header → signature present →
/// store → key index → signature → origin → replay, the order the gateway has always judged them in.
/// The first two steps need only the headers: the body is read after them, so a request refused by its
/// headers is refused before any of its body is read.
extension ProviderVerification {
    struct AliKassaState: Sendable {
        let headers: [(name: String, value: String)]
        let audience: VerificationAudience
        var account = ""
        var sign = ""
        var body: [UInt8] = []
        var store: ResolvedStore?
        var usable: [ResolvedStoreKey] = []
        var key: ResolvedStoreKey?
        var principal: AuthenticatedKey?
    }

    /// Verifies an AliKassa request for `audience`. `body` is called once, after the header steps passed;
    /// what it throws (a body over the limit) is thrown from here, as is a storage failure. A refusal is
    /// the run's `failure`.
    public func aliKassa(
        headers: [(name: String, value: String)],
        audience: VerificationAudience,
        body: () async throws -> [UInt8]
    ) async throws -> ProviderVerificationRun {
        var state = AliKassaState(headers: headers, audience: audience)
        var run = ProviderVerificationRun()
        try await VerificationSteps(steps: Array(aliKassaHeaderSteps)).run(&state, into: &run)
        if run.failure == nil {
            state.body = try await body()
            try await VerificationSteps(steps: aliKassaBodySteps).run(&state, into: &run)
        }
        run.store = state.store
        run.key = state.key
        if run.failure == nil { run.principal = state.principal }
        return run
    }

    private func values(_ name: String, in headers: [(name: String, value: String)]) -> [String] {
        headers.filter { $0.name.lowercased() == name }.map(\.value)
    }

    var aliKassaHeaderSteps: [VerificationSteps<AliKassaState>.Step] {
        [
            (
                "account",
                { state in
                    let accounts = values("account", in: state.headers)
                    guard accounts.count == 1, let account = accounts.first?.trimmingCharacters(in: .whitespaces) else {
                        return .fail(KeywardError(.unauthenticated, .unknownStore, "Send exactly one Account header with your AliKassa account id."))
                    }
                    state.account = account
                    return .pass("The Account header names account '\(account.prefix(40))'.")
                }
            ),
            (
                "signature_present",
                { state in
                    let signs = values("sign", in: state.headers)
                    guard signs.count <= 1 else { return .fail(KeywardError(.unauthenticated, .signatureInvalid, "Send exactly one Sign header.")) }
                    guard let sign = signs.first, !sign.isEmpty else {
                        return .fail(
                            KeywardError(
                                .unauthenticated,
                                .signatureMissing,
                                "The request has no Sign header; sign the raw body with your private key."
                            ),
                            detail: "There is no Sign header."
                        )
                    }
                    state.sign = sign
                    return .pass("The request has a Sign header.")
                }
            ),
        ]
    }

    var aliKassaBodySteps: [VerificationSteps<AliKassaState>.Step] {
        [
            (
                "store",
                { state in
                    let lookup = UUID(uuidString: state.account)?.uuidString.lowercased() ?? state.account
                    guard let resolved = try await resolve(.alikassa, externalID: lookup, for: state.audience) else {
                        return .fail(
                            KeywardError(.unauthenticated, .unknownStore, "No store has account '\(state.account.prefix(40))'."),
                            detail: "None of your test-mode stores has account '\(state.account.prefix(40))' (the Account header)."
                        )
                    }
                    state.store = resolved
                    state.account = lookup
                    return .pass("Account '\(lookup)' is your store '\(resolved.store.name)'.")
                }
            ),
            (
                "key_index",
                { state in
                    guard let resolved = state.store else { return .notApplicable }
                    let now = clock.now()
                    state.usable = resolved.keys.filter { $0.isUsable(at: now) }
                    guard !state.usable.isEmpty else {
                        return .fail(
                            KeywardError(.unauthenticated, .unknownKeyIndex, "Account '\(state.account)' has no active key; register one."),
                            detail: "The store has no active key."
                        )
                    }
                    return .pass("\(state.usable.count) active key\(state.usable.count == 1 ? "" : "s").")
                }
            ),
            (
                "signature",
                { state in
                    guard let resolved = state.store else { return .notApplicable }
                    var lastFailure = SignatureCheck.valid
                    for key in state.usable {
                        let check = AliKassa.verify(body: state.body, signature: state.sign, with: key.verificationKey, digest: key.info.digest)
                        if check == .valid {
                            state.key = key
                            state.principal = principal(resolved, key: key, scheme: .aliKassa)
                            return .pass("The Sign header verifies with key index \(key.info.keyIndex) (\(key.info.digest.rawValue)).")
                        }
                        lastFailure = check
                    }
                    var error = KeywardError(.unauthenticated, .signatureInvalid, "The signature does not match.")
                    if case .invalid(let code, let reason) = lastFailure { error = KeywardError(.unauthenticated, code, reason) }
                    guard state.audience.isOwner else { return .fail(error) }
                    let keys = state.usable.map { (index: $0.info.keyIndex, key: $0.verificationKey, digest: $0.info.digest) }
                    if let explanation = SignatureDiagnosis.aliKassa(body: state.body, signature: state.sign, keys: keys) {
                        return .fail(error, detail: explanation.reason, diagnosisCode: explanation.code)
                    }
                    return .fail(
                        error,
                        detail:
                            "The Sign header matches none of the store's keys over these exact body bytes: the body changed after signing, or another private key signed it."
                    )
                }
            ),
            (
                "origin",
                { state in
                    guard let principal = state.principal else { return .notApplicable }
                    return origin(principal, audience: state.audience)
                }
            ),
            (
                "replay",
                { state in
                    guard let store = state.store, let key = state.key else { return .notApplicable }
                    return try await replay(
                        store,
                        key: key,
                        fingerprint: ReplayFingerprint.aliKassa(body: state.body, signature: state.sign),
                        audience: state.audience
                    )
                }
            ),
        ]
    }
}
