import Foundation
import KeywardCrypto

/// The one place the signed dialects' verification rule lives (myPOS IPC, AliKassa, RFC 9421): an ordered list
/// of steps per dialect, run by one function (`VerificationSteps.run`). The gateway and the owner's
/// diagnosis (`POST /v1/auth/diagnose`, the cabinet's test-request page) both call it, so they cannot
/// disagree on which step fails or on its code; they differ only in what they say about a failure (the
/// gateway tells an unknown caller nothing about the store; the owner learns which of their own keys or
/// habits explains it) and in what the step may do (the gateway consumes replay fingerprints and judges
/// the caller's address; the diagnosis only reads).
///
/// Steps run until the first failure: a later step needs what an earlier one found (no store, no key
/// index). The gateway answers the failure's `error`; the diagnosis lists every step run.
public struct ProviderVerification: Sendable {
    let directory: StoreDirectory
    let signingKeys: SigningKeyService
    let clock: KeywardClock

    /// Largest number of parameters a myPOS form may have.
    public static let maximumParameters = 1000
    /// How long an identical signed request is refused by a store that rejects replays.
    public static let replayWindow: TimeInterval = 24 * 3600

    public init(directory: StoreDirectory, signingKeys: SigningKeyService, clock: KeywardClock) {
        self.directory = directory
        self.signingKeys = signingKeys
        self.clock = clock
    }
}

/// Who a verification runs for; this decides the scope of the store lookup and the side effects.
public enum VerificationAudience: Sendable {
    /// The gateway: any store (of `mode` when given: `/vmp/checkout` is live, `/vmp/checkout-test` test),
    /// the call must come from an allowed address, and a replay-rejecting store's fingerprint is consumed.
    case gateway(mode: Mode?, clientAddress: [UInt8]?)
    /// The owner's diagnosis: only `merchantID`'s test-mode stores; the caller's address is not judged
    /// (the request was pasted, not sent) and no fingerprint is consumed, only looked up.
    case owner(merchantID: String)

    var isOwner: Bool { if case .owner = self { true } else { false } }
}

/// One step as run: passed, or failed with the gateway's stable code.
public struct VerificationStep: Sendable, Equatable {
    /// `form`, `account`, `signature_present`, `store`, `key_index`, `signature`, `origin`, `replay`; for RFC 9421
    /// also `algorithm`, `created`, `nonce`, `covered_components`, `content_digest`, `key_expiry`.
    public let name: String
    public let passed: Bool
    /// The gateway's problem code when the step failed.
    public let code: ErrorCode?
    /// What happened, for the owner of the store (a diagnosis line).
    public let detail: String
}

/// The failing step: what the gateway answers, and what the owner's diagnosis says about it.
public struct VerificationFailure: Sendable {
    public let step: String
    /// The gateway's answer (kind, stable code, message that reveals nothing of the store).
    public let error: KeywardError
    /// The owner's explanation; may name the usual mistake behind it.
    public let detail: String
    /// A more precise code the owner's diagnosis reports when a usual mistake explains the failure
    /// (`unknown_key_index` for a form signed with another index's key); the gateway's code otherwise.
    public let diagnosisCode: ErrorCode
}

/// The result of one verification: the steps run in order, and the failure that stopped it, if any.
public struct ProviderVerificationRun: Sendable {
    public internal(set) var steps: [VerificationStep] = []
    public internal(set) var failure: VerificationFailure?
    /// The principal, once every step passed.
    public internal(set) var principal: AuthenticatedKey?
    /// The store and key index that verified (or were found before a later step failed).
    public internal(set) var store: ResolvedStore?
    public internal(set) var key: ResolvedStoreKey?
    /// A myPOS form's parameters as decoded, in the order sent.
    public internal(set) var parameters: [(name: String, value: String)] = []

    /// Whether every step passed.
    public var verified: Bool { failure == nil && principal != nil }

    /// The gateway's verdict: the principal, or the failing step's error.
    public func gatewayVerdict() throws(KeywardError) -> AuthenticatedKey {
        if let failure { throw failure.error }
        guard let principal else { throw KeywardError(.unauthenticated, .signatureInvalid, "The signature does not match.") }
        return principal
    }
}

/// What a step found: a pass (with the owner's line), a failure, or nothing to check for this audience.
enum StepOutcome: Sendable {
    case pass(String)
    case fail(KeywardError, detail: String? = nil, diagnosisCode: ErrorCode? = nil)
    case notApplicable
}

/// An ordered list of steps over a mutable state, and the one function that runs them.
struct VerificationSteps<State: Sendable> {
    typealias Step = (name: String, check: (inout State) async throws -> StepOutcome)
    let steps: [Step]

    /// Runs the steps in order until one fails. `run` records every step run into `record`.
    func run(_ state: inout State, into record: inout ProviderVerificationRun) async throws {
        for step in steps {
            switch try await step.check(&state) {
            case .pass(let detail):
                record.steps.append(VerificationStep(name: step.name, passed: true, code: nil, detail: detail))
            case .notApplicable:
                continue
            case .fail(let error, let detail, let diagnosisCode):
                let shown = detail ?? error.message
                record.steps.append(VerificationStep(name: step.name, passed: false, code: error.code, detail: shown))
                record.failure = VerificationFailure(step: step.name, error: error, detail: shown, diagnosisCode: diagnosisCode ?? error.code)
                return
            }
        }
    }
}

extension ProviderVerification {
    /// Runs a storage call; a database failure is a 503 the client may retry, never a 500.
    func storage<T>(_ body: () async throws -> T) async throws -> T {
        try await KeywardError.unlessStorageFails(checking: "Store keys", body)
    }

    /// The store `externalID` names, as the audience may see it: the owner sees only its test-mode stores.
    func resolve(_ dialect: StoreDialect, externalID: String, for audience: VerificationAudience) async throws -> ResolvedStore? {
        guard let resolved = try await storage({ try await directory.resolve(dialect, externalID: externalID) }) else { return nil }
        if case .owner(let merchantID) = audience, resolved.store.merchantID != merchantID || resolved.store.mode != .test { return nil }
        return resolved
    }

    /// The principal of a verified key index.
    func principal(_ resolved: ResolvedStore, key: ResolvedStoreKey, scheme: AuthScheme) -> AuthenticatedKey {
        let limits = key.info.limits
        let expiry = [key.info.notAfter, limits.expiresAt].compactMap { $0 }.min()
        return AuthenticatedKey(
            keyID: key.info.id,
            merchantID: resolved.store.merchantID,
            mid: resolved.mid,
            mode: resolved.store.mode,
            permissions: limits.permissions,
            allowedIPs: limits.allowedIPs,
            expiresAt: expiry,
            revokedAt: nil,
            replacedBy: nil,
            scheme: scheme,
            merchantAllowedIPs: resolved.merchantAllowedIPs
        )
    }

    /// The `origin` step: the call must come from where the key index and the merchant allow. Only the
    /// gateway judges it; a diagnosed request was pasted, so there is no address to judge.
    func origin(_ principal: AuthenticatedKey, audience: VerificationAudience) -> StepOutcome {
        guard case .gateway(_, let address) = audience else { return .notApplicable }
        do throws(KeywardError) {
            try principal.admit(from: address)
            return .pass("The call comes from an allowed address.")
        } catch {
            return .fail(error)
        }
    }

    /// The `replay` step for a store that rejects replays: the gateway records the fingerprint (a second
    /// use is refused); the diagnosis only looks whether it was recorded already.
    func replay(_ resolved: ResolvedStore, key: ResolvedStoreKey, fingerprint: String?, audience: VerificationAudience) async throws -> StepOutcome {
        guard resolved.store.rejectReplays else { return .notApplicable }
        guard let fingerprint else { return .fail(KeywardError(.unauthenticated, .signatureInvalid, "The signature is not base64.")) }
        let refused = KeywardError(
            .unauthenticated,
            .replayedRequest,
            "This signed request was already accepted; this store refuses replays within 24 hours."
        )
        let fresh: Bool
        if audience.isOwner {
            fresh = try await storage { try await !signingKeys.nonceWasUsed(keyID: key.info.id, nonce: fingerprint) }
        } else {
            let expires = clock.now().addingTimeInterval(Self.replayWindow)
            fresh = try await storage { try await signingKeys.useNonce(keyID: key.info.id, nonce: fingerprint, expires: expires) }
        }
        return fresh ? .pass("Not seen before: this store refuses the same signed request again within 24 hours.") : .fail(refused)
    }
}
