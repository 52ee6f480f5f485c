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

    /// The steps both dialects are judged by, shared with the owner's diagnosis (`DiagnoseController`).
    var verification: ProviderVerification { ProviderVerification(directory: directory, signingKeys: signingKeys, clock: clock) }

    /// Verifies a myPOS form. `mode`, when given, is the mode the endpoint serves (`/vmp/checkout` live,
    /// `/vmp/checkout-test` test); a store of the other mode is refused. The call must come from where the
    /// key index (and the merchant) allow. The steps are `ProviderVerification.myPOS`; the first failing one
    /// is the answer.
    func authenticateMyPOS(_ request: inout Request, mode: Mode?, clientAddress: [UInt8]?) async throws -> VerifiedMyPOSRequest {
        if let type = request.headers[.contentType], !type.lowercased().hasPrefix("application/x-www-form-urlencoded") {
            throw KeywardError(.invalidInput, .unsupportedMediaType, "myPOS IPC requests are form posts (application/x-www-form-urlencoded).")
        }
        let body = try await collect(&request)
        let run = try await verification.myPOS(body: Array(buffer: body), audience: .gateway(mode: mode, clientAddress: clientAddress))
        let principal = try run.gatewayVerdict()
        guard let key = run.key, let store = run.store else {
            throw KeywardError(.unauthenticated, .signatureInvalid, "The signature does not match.")
        }
        return VerifiedMyPOSRequest(principal: principal, key: key, store: store.store, parameters: run.parameters)
    }

    /// Verifies an AliKassa request: the `Account` header names the store, `Sign` must verify over the
    /// exact body bytes with one of the store's active keys (SHA-256, or SHA-1 for legacy keys).
    /// Stores created with `reject_replays` refuse the same signed body again for 24 hours. The steps are
    /// `ProviderVerification.aliKassa`; the body is read only once the headers passed.
    func authenticateAliKassa(_ request: inout Request, clientAddress: [UInt8]?) async throws -> AuthenticatedKey {
        let headers = request.headers.map { (name: $0.name.rawName, value: $0.value) }
        let run = try await verification.aliKassa(headers: headers, audience: .gateway(mode: nil, clientAddress: clientAddress)) {
            Array(buffer: try await collect(&request))
        }
        return try run.gatewayVerdict()
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
}
