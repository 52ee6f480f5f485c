import Foundation
import KeywardCrypto
import KeywardDialects

/// myPOS IPC forms (`SID`, `WalletNumber`, `KeyIndex`, `Signature`): the steps, in the order the gateway
/// has always judged them, so its codes are what they were: form → signature present → store (SID,
/// mode, wallet) → key index → signature → origin → replay.
extension ProviderVerification {
    struct MyPOSState: Sendable {
        let body: [UInt8]
        let audience: VerificationAudience
        var parameters: [(name: String, value: String)] = []
        var sid = ""
        var store: ResolvedStore?
        var key: ResolvedStoreKey?
        var principal: AuthenticatedKey?
    }

    /// Verifies a myPOS form body for `audience`. Throws only when storage is unavailable; a refusal is
    /// the run's `failure`.
    public func myPOS(body: [UInt8], audience: VerificationAudience) async throws -> ProviderVerificationRun {
        var state = MyPOSState(body: body, audience: audience)
        var run = ProviderVerificationRun()
        try await myPOSSteps.run(&state, into: &run)
        run.parameters = state.parameters
        run.store = state.store
        run.key = state.key
        if run.failure == nil { run.principal = state.principal }
        return run
    }

    var myPOSSteps: VerificationSteps<MyPOSState> {
        VerificationSteps(steps: [
            (
                "form",
                { state in
                    do throws(FormEncoding.MalformedForm) {
                        state.parameters = try FormEncoding.decode(bytes: state.body)
                    } catch {
                        return .fail(KeywardError(.invalidInput, .malformedForm, error.reason))
                    }
                    guard state.parameters.count <= Self.maximumParameters else {
                        return .fail(
                            KeywardError(.invalidInput, .tooManyParameters, "A myPOS request has at most \(Self.maximumParameters) parameters.")
                        )
                    }
                    return .pass("\(state.parameters.count) parameters decoded, in the order sent.")
                }
            ),
            (
                "signature_present",
                { state in
                    guard state.parameters.contains(where: { $0.name == MyPOSIPC.signatureParameter }) else {
                        return .fail(
                            KeywardError(
                                .unauthenticated,
                                .signatureMissing,
                                "The form has no Signature parameter; sign it with your private key as the myPOS SDK does."
                            ),
                            detail: "The form has no Signature parameter."
                        )
                    }
                    return .pass("The form has a Signature parameter.")
                }
            ),
            ("store", { state in try await myPOSStore(&state) }),
            ("key_index", { state in try await myPOSKeyIndex(&state) }),
            ("signature", { state in myPOSSignature(&state) }),
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
                    // The decoded signature and the signed content, not the spelling: `%2B`, `+` and a space are one request.
                    return try await replay(store, key: key, fingerprint: ReplayFingerprint.myPOS(state.parameters), audience: state.audience)
                }
            ),
        ])
    }

    /// The value of a parameter that must appear exactly once, or the failure to answer.
    static func single(_ name: String, in parameters: [(name: String, value: String)], missing code: ErrorCode) -> Result<String, KeywardError> {
        let values = parameters.filter { $0.name == name }
        guard let value = values.first?.value, !value.isEmpty else {
            return .failure(KeywardError(.unauthenticated, code, "The form has no \(name) parameter."))
        }
        guard values.count == 1 else {
            return .failure(
                KeywardError(.invalidInput, .duplicateParameter, "Parameter '\(name)' appears more than once; myPOS signs each parameter once.")
            )
        }
        return .success(value)
    }

    private func myPOSStore(_ state: inout MyPOSState) async throws -> StepOutcome {
        let sid: String
        switch Self.single("SID", in: state.parameters, missing: .unknownStore) {
        case .failure(let error): return .fail(error)
        case .success(let value): sid = value
        }
        state.sid = sid
        guard let resolved = try await resolve(.mypos, externalID: sid, for: state.audience) else {
            return .fail(
                KeywardError(.unauthenticated, .unknownStore, "No store has SID '\(sid.prefix(32))'. Check the SID against your store in Keyward."),
                detail: "None of your test-mode stores has SID '\(sid.prefix(32))'."
            )
        }
        if case .gateway(let mode?, _) = state.audience, resolved.store.mode != mode {
            let endpoint = resolved.store.mode == .test ? "the test endpoint (/vmp/checkout-test)" : "the live endpoint (/vmp/checkout)"
            return .fail(
                KeywardError(
                    .unauthenticated,
                    .unknownStore,
                    "SID '\(sid)' is a \(resolved.store.mode.rawValue)-mode store; send its requests to \(endpoint)."
                )
            )
        }
        if let wallet = state.parameters.first(where: { $0.name == "WalletNumber" })?.value, let expected = resolved.store.walletNumber,
            wallet != expected
        {
            return .fail(
                KeywardError(.unauthenticated, .unknownStore, "WalletNumber '\(wallet.prefix(32))' does not belong to the store with SID '\(sid)'."),
                detail: "WalletNumber '\(wallet.prefix(32))' is not the wallet of store '\(sid)' (\(expected))."
            )
        }
        state.store = resolved
        return .pass("SID '\(sid)' is your store '\(resolved.store.name)'.")
    }

    private func myPOSKeyIndex(_ state: inout MyPOSState) async throws -> StepOutcome {
        guard let resolved = state.store else { return .notApplicable }
        let indexText: String
        switch Self.single("KeyIndex", in: state.parameters, missing: .unknownKeyIndex) {
        case .failure(let error): return .fail(error)
        case .success(let value): indexText = value
        }
        let now = clock.now()
        guard let index = Int(indexText), let key = resolved.key(index: index, now: now) else {
            let error = KeywardError(
                .unauthenticated,
                .unknownKeyIndex,
                "Store '\(state.sid)' has no active key index '\(indexText.prefix(16))'. Check KeyIndex against the store's keys; revoked and expired keys do not verify."
            )
            guard state.audience.isOwner else { return .fail(error) }
            // The owner learns which of its own active keys the signature matches.
            let usable = resolved.keys.filter { $0.isUsable(at: now) }
            let parameters = state.parameters
            let matching = usable.first { MyPOSIPC.verify(parameters, with: $0.verificationKey) == .valid }
            let hint = matching.map { " The signature matches key index \($0.info.keyIndex): send KeyIndex=\($0.info.keyIndex)." } ?? ""
            return .fail(
                error,
                detail:
                    "Store '\(state.sid)' has no active key index '\(indexText.prefix(16))' (active: \(usable.map { String($0.info.keyIndex) }.joined(separator: ", "))).\(hint)"
            )
        }
        state.key = key
        return .pass("Key index \(index) is active (\(key.info.algorithm)).")
    }

    private func myPOSSignature(_ state: inout MyPOSState) -> StepOutcome {
        guard let resolved = state.store, let key = state.key else { return .notApplicable }
        let index = key.info.keyIndex
        switch MyPOSIPC.verify(state.parameters, with: key.verificationKey) {
        case .valid:
            state.principal = principal(resolved, key: key, scheme: .myPOS)
            return .pass("The Signature verifies with key index \(index): the gateway accepts this request.")
        case .invalid(let code, let reason):
            let error = KeywardError(code == .duplicateParameter ? .invalidInput : .unauthenticated, code, reason)
            guard state.audience.isOwner, code == .signatureInvalid else { return .fail(error) }
            let now = clock.now()
            let others = resolved.keys.filter { $0.isUsable(at: now) && $0.info.keyIndex != index }.map {
                (index: $0.info.keyIndex, key: $0.verificationKey)
            }
            if let explanation = SignatureDiagnosis.myPOS(
                state.parameters,
                rawPairs: FormEncoding.rawPairs(state.body),
                claimed: (index, key.verificationKey),
                otherKeys: others
            ) {
                return .fail(error, detail: explanation.reason, diagnosisCode: explanation.code)
            }
            return .fail(
                error,
                detail:
                    "The Signature does not match key index \(index), and no usual mistake explains it: a value changed after signing, or another private key signed it."
            )
        }
    }
}
