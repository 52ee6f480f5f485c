import Foundation
import Hummingbird
import KeywardCore
import KeywardCrypto
import KeywardDialects

/// Verifies RFC 9421 signed requests against registered signing keys, single-use nonces included.
struct HTTPSignatureAuthenticator: Sendable {
    let signingKeys: SigningKeyService
    let clock: KeywardClock
    /// The scheme the client used to reach us (`https`, or `http` only with `--insecure-http`): part of `@target-uri`.
    let scheme: String
    let maxBodyBytes: Int
    let policy = NativeSignature.Policy()

    /// Verifies `request` and returns the principal, once the call comes from where the signing key (and the
    /// merchant) allow and before its expiry. The signature is judged from the headers first: a request that
    /// fails there is refused before any of its body is read. Only then is the body buffered (so it can
    /// still be forwarded) and compared with its `Content-Digest`.
    func authenticate(_ request: inout Request, clientAddress: [UInt8]?) async throws -> AuthenticatedKey {
        let fields = request.headers.map { (name: $0.name.rawName, value: $0.value) }
        let view = HTTPRequestView(
            method: request.method.rawValue,
            scheme: scheme,
            authority: request.head.authority ?? "",
            path: request.uri.path,
            query: request.uri.query,
            fields: fields
        )
        // Parse once, resolve the key the signature names (an async lookup), then check everything else purely.
        let headers: NativeSignature.Headers
        switch NativeSignature.parse(view) {
        case .failure(let refusal): throw KeywardError(.unauthenticated, refusal.code, refusal.reason)
        case .success(let parsed): headers = parsed
        }
        let keyID = headers.input.keyID
        let resolved = try await storage { try await keyID.asyncMap { try await signingKeys.resolve(id: $0) } ?? nil }
        let now = Int(clock.now().timeIntervalSince1970)
        let declaredLength = request.headers[.contentLength].flatMap { Int($0) }
        let result = NativeSignature.verifyHeaders(request: view, headers: headers, expectsBody: (declaredLength ?? 0) > 0, now: now, policy: policy)
        { id in
            id == resolved?.owner.id ? resolved?.key : nil
        }
        if case .success = result {
            if let declaredLength, declaredLength > maxBodyBytes {
                throw KeywardError(.tooLarge, .bodyTooLarge, "The request body exceeds \(maxBodyBytes) bytes.")
            }
            let body: ByteBuffer
            do {
                body = try await request.collectBody(upTo: maxBodyBytes)
            } catch {
                throw KeywardError(.tooLarge, .bodyTooLarge, "The request body exceeds \(maxBodyBytes) bytes.")
            }
            if case .failure(let refusal) = NativeSignature.checkBody(request: view, headers: headers, body: Array(buffer: body)) {
                throw KeywardError(.unauthenticated, refusal.code, refusal.reason)
            }
        }
        switch result {
        case .failure(let refusal):
            throw KeywardError(.unauthenticated, refusal.code, refusal.reason)
        case .success(let verified):
            guard let resolved else {
                throw KeywardError(.unauthenticated, .unknownKeyIndex, "The signing key is unknown or revoked.")
            }
            let owner = resolved.owner
            let principal = AuthenticatedKey(
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
            if let expiresAt = principal.expiresAt, expiresAt <= clock.now() {
                throw KeywardError(.unauthenticated, .keyExpired, "Signing key \(owner.id) expired at \(expiresAt.formatted(.iso8601)).")
            }
            try principal.admit(from: clientAddress)
            if let nonce = verified.nonce {
                // The signature stays acceptable while the whole-second clock reads created + window, that is until
                // created + window + 1: the nonce must outlive that, or a replay in the last second would pass.
                let expires = Date(timeIntervalSince1970: Double(verified.created + policy.window + 1))
                let fresh = try await storage { try await signingKeys.useNonce(keyID: owner.id, nonce: nonce, expires: expires) }
                guard fresh else {
                    throw KeywardError(.unauthenticated, .replayedRequest, "This signature's nonce was already used; sign every request anew.")
                }
            }
            return principal
        }
    }
}

extension HTTPSignatureAuthenticator {
    /// Runs a storage call; a database failure is a 503 the client may retry, never a 500.
    func storage<T>(_ body: () async throws -> T) async throws -> T {
        try await KeywardError.unlessStorageFails(checking: "Signing keys", body)
    }
}

extension Optional {
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let value = self else { return nil }
        return try await transform(value)
    }
}
