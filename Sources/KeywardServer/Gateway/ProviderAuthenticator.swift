import Crypto
import Foundation
import Hummingbird
import KeywardCore
import KeywardCrypto
import KeywardDialects

/// A verified myPOS IPC request: who sent it, the key index that verified it, and the form as sent.
struct VerifiedMyPOSRequest: Sendable {
    let principal: AuthenticatedKey
    let key: ResolvedStoreKey
    let store: StoreInfo
    let parameters: [(name: String, value: String)]
}

/// Verifies requests signed in the provider dialects against stores' key indexes: myPOS IPC forms
/// (`SID`, `KeyIndex`, `Signature`) and AliKassa (`Account` and `Sign` headers over the raw body).
struct ProviderAuthenticator: Sendable {
    let directory: StoreDirectory
    let signingKeys: SigningKeyService
    let clock: KeywardClock
    /// Largest body read to authenticate a myPOS form or an AliKassa call (`signed_form_max_body_bytes`): it is
    /// read before anyone is known, so it is small.
    let maxBodyBytes: Int
    /// How long an identical myPOS request is refused for a store that rejects replays.
    static let replayWindow: TimeInterval = 24 * 3600
    static let maximumParameters = 1000

    /// Verifies a myPOS form. `mode`, when given, is the mode the endpoint serves (`/vmp/checkout` live,
    /// `/vmp/checkout-test` test); a store of the other mode is refused. The call must come from where the
    /// key index (and the merchant) allow.
    func authenticateMyPOS(_ request: inout Request, mode: Mode?, clientAddress: [UInt8]?) async throws -> VerifiedMyPOSRequest {
        if let type = request.headers[.contentType], !type.lowercased().hasPrefix("application/x-www-form-urlencoded") {
            throw KeywardError(.invalidInput, .unsupportedMediaType, "myPOS IPC requests are form posts (application/x-www-form-urlencoded).")
        }
        let body = try await collect(&request)
        let parameters: [(name: String, value: String)]
        do {
            parameters = try FormEncoding.decode(bytes: Array(buffer: body))
        } catch {
            throw KeywardError(.invalidInput, .malformedForm, error.reason)
        }
        guard parameters.count <= Self.maximumParameters else {
            throw KeywardError(.invalidInput, .tooManyParameters, "A myPOS request has at most \(Self.maximumParameters) parameters.")
        }
        guard parameters.contains(where: { $0.name == MyPOSIPC.signatureParameter }) else {
            throw KeywardError(.unauthenticated, .signatureMissing, "The form has no Signature parameter; sign it with your private key as the myPOS SDK does.")
        }
        let sid = try single("SID", in: parameters, missing: .unknownStore)
        guard let resolved = try await storage({ try await directory.resolve(.mypos, externalID: sid) }) else {
            throw KeywardError(.unauthenticated, .unknownStore, "No store has SID '\(sid.prefix(32))'. Check the SID against your store in Keyward.")
        }
        if let mode, resolved.store.mode != mode {
            let endpoint = resolved.store.mode == .test ? "the test endpoint (/vmp/checkout-test)" : "the live endpoint (/vmp/checkout)"
            throw KeywardError(.unauthenticated, .unknownStore, "SID '\(sid)' is a \(resolved.store.mode.rawValue)-mode store; send its requests to \(endpoint).")
        }
        if let wallet = parameters.first(where: { $0.name == "WalletNumber" })?.value, let expected = resolved.store.walletNumber, wallet != expected {
            throw KeywardError(.unauthenticated, .unknownStore, "WalletNumber '\(wallet.prefix(32))' does not belong to the store with SID '\(sid)'.")
        }
        let indexText = try single("KeyIndex", in: parameters, missing: .unknownKeyIndex)
        guard let index = Int(indexText), let key = resolved.key(index: index, now: clock.now()) else {
            throw KeywardError(.unauthenticated, .unknownKeyIndex, "Store '\(sid)' has no active key index '\(indexText.prefix(16))'. Check KeyIndex against the store's keys; revoked and expired keys do not verify.")
        }
        switch MyPOSIPC.verify(parameters, with: key.verificationKey) {
        case .valid:
            break
        case .invalid(let code, let reason):
            throw KeywardError(code == .duplicateParameter ? .invalidInput : .unauthenticated, code, reason)
        }
        let principal = try admitted(resolved, key: key, scheme: .myPOS, clientAddress: clientAddress)
        if resolved.store.rejectReplays {
            // The decoded signature and the signed content, not the spelling: `%2B`, `+` and a space are one request.
            try await refuseReplay(keyID: key.info.id, fingerprint: ReplayFingerprint.myPOS(parameters))
        }
        return VerifiedMyPOSRequest(principal: principal, key: key, store: resolved.store, parameters: parameters)
    }

    /// Verifies an AliKassa request: the `Account` header names the store, `Sign` must verify over the
    /// exact body bytes with one of the store's active keys (SHA-256, or SHA-1 for legacy keys).
    /// Stores created with `reject_replays` refuse the same signed body again for 24 hours.
    func authenticateAliKassa(_ request: inout Request, clientAddress: [UInt8]?) async throws -> AuthenticatedKey {
        let accounts = request.headers[values: .aliKassaAccount]
        guard accounts.count == 1, let account = accounts.first?.trimmingCharacters(in: .whitespaces) else {
            throw KeywardError(.unauthenticated, .unknownStore, "Send exactly one Account header with your AliKassa account id.")
        }
        let signs = request.headers[values: .aliKassaSign]
        guard signs.count <= 1 else { throw KeywardError(.unauthenticated, .signatureInvalid, "Send exactly one Sign header.") }
        guard let sign = signs.first, !sign.isEmpty else {
            throw KeywardError(.unauthenticated, .signatureMissing, "The request has no Sign header; sign the raw body with your private key.")
        }
        let body = try await collect(&request)
        let lookup = UUID(uuidString: account)?.uuidString.lowercased() ?? account
        guard let resolved = try await storage({ try await directory.resolve(.alikassa, externalID: lookup) }) else {
            throw KeywardError(.unauthenticated, .unknownStore, "No store has account '\(account.prefix(40))'.")
        }
        let now = clock.now()
        let usable = resolved.keys.filter { $0.isUsable(at: now) }
        guard !usable.isEmpty else {
            throw KeywardError(.unauthenticated, .unknownKeyIndex, "Account '\(lookup)' has no active key; register one.")
        }
        var lastFailure = SignatureCheck.valid
        for key in usable {
            let check = AliKassa.verify(body: Array(buffer: body), signature: sign, with: key.verificationKey, digest: key.info.digest)
            if check == .valid {
                let principal = try admitted(resolved, key: key, scheme: .aliKassa, clientAddress: clientAddress)
                if resolved.store.rejectReplays {
                    try await refuseReplay(keyID: key.info.id, fingerprint: ReplayFingerprint.aliKassa(body: Array(buffer: body), signature: sign))
                }
                return principal
            }
            lastFailure = check
        }
        if case .invalid(let code, let reason) = lastFailure { throw KeywardError(.unauthenticated, code, reason) }
        throw KeywardError(.unauthenticated, .signatureInvalid, "The signature does not match.")
    }

    /// The principal of a verified key index, once the call comes from where the index and the merchant allow.
    private func admitted(_ resolved: ResolvedStore, key: ResolvedStoreKey, scheme: AuthScheme, clientAddress: [UInt8]?) throws -> AuthenticatedKey {
        let limits = key.info.limits
        let expiry = [key.info.notAfter, limits.expiresAt].compactMap { $0 }.min()
        let principal = AuthenticatedKey(keyID: key.info.id, merchantID: resolved.store.merchantID, mid: resolved.mid, mode: resolved.store.mode,
                                         permissions: limits.permissions, allowedIPs: limits.allowedIPs, expiresAt: expiry, revokedAt: nil,
                                         replacedBy: nil, scheme: scheme, merchantAllowedIPs: resolved.merchantAllowedIPs)
        try principal.admit(from: clientAddress)
        return principal
    }

    /// Records the request's fingerprint for the replay window; a second use is refused.
    private func refuseReplay(keyID: String, fingerprint: String?) async throws {
        guard let fingerprint else { throw KeywardError(.unauthenticated, .signatureInvalid, "The signature is not base64.") }
        let expires = clock.now().addingTimeInterval(Self.replayWindow)
        let fresh = try await storage { try await signingKeys.useNonce(keyID: keyID, nonce: fingerprint, expires: expires) }
        guard fresh else {
            throw KeywardError(.unauthenticated, .replayedRequest, "This signed request was already accepted; this store refuses replays within 24 hours.")
        }
    }

    private func collect(_ request: inout Request) async throws -> ByteBuffer {
        // A declared length over the cap is refused before a byte of the body is read.
        if let declared = request.headers[.contentLength].flatMap({ Int($0) }), declared > maxBodyBytes {
            throw KeywardError(.tooLarge, .bodyTooLarge, "The request body exceeds \(maxBodyBytes) bytes.")
        }
        do {
            return try await request.collectBody(upTo: maxBodyBytes)
        } catch {
            throw KeywardError(.tooLarge, .bodyTooLarge, "The request body exceeds \(maxBodyBytes) bytes.")
        }
    }

    /// The value of a parameter that must appear exactly once.
    private func single(_ name: String, in parameters: [(name: String, value: String)], missing code: ErrorCode) throws -> String {
        let values = parameters.filter { $0.name == name }
        guard let value = values.first?.value, !value.isEmpty else {
            throw KeywardError(.unauthenticated, code, "The form has no \(name) parameter.")
        }
        guard values.count == 1 else {
            throw KeywardError(.invalidInput, .duplicateParameter, "Parameter '\(name)' appears more than once; myPOS signs each parameter once.")
        }
        return value
    }

    private func storage<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as KeywardError {
            throw error
        } catch {
            throw KeywardError(.unavailable, .storageUnavailable, "Store keys cannot be checked right now; retry shortly.")
        }
    }
}
