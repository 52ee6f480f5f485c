import Foundation
import Hummingbird
import KeywardCore
import KeywardCrypto
import KeywardDialects

/// Verifies RFC 9421 signed requests against registered signing keys, single-use nonces included.
struct HTTPSignatureAuthenticator: Sendable {
    let directory: StoreDirectory
    let signingKeys: SigningKeyService
    let clock: KeywardClock
    /// The scheme the client used to reach us (`https`, or `http` only with `--insecure-http`): part of `@target-uri`.
    let scheme: String
    let maxBodyBytes: Int

    /// The steps RFC 9421 requests are judged by, shared with the owner's diagnosis (`DiagnoseController`).
    var verification: ProviderVerification { ProviderVerification(directory: directory, signingKeys: signingKeys, clock: clock) }

    /// Verifies `request` and returns the principal, once the call comes from where the signing key (and the
    /// merchant) allow and before its expiry. The steps are `ProviderVerification.httpSignature`: the signature
    /// is judged from the headers first, and a request that fails there is refused before any of its body is
    /// read. Only then is the body buffered (so it can still be forwarded) and compared with its `Content-Digest`.
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
        let declaredLength = request.headers[.contentLength].flatMap { Int($0) }
        let run = try await verification.httpSignature(
            request: view,
            expectsBody: (declaredLength ?? 0) > 0,
            audience: .gateway(mode: nil, clientAddress: clientAddress)
        ) {
            if let declaredLength, declaredLength > maxBodyBytes {
                throw KeywardError(.tooLarge, .bodyTooLarge, "The request body exceeds \(maxBodyBytes) bytes.")
            }
            do {
                return Array(buffer: try await request.collectBody(upTo: maxBodyBytes))
            } catch {
                throw KeywardError(.tooLarge, .bodyTooLarge, "The request body exceeds \(maxBodyBytes) bytes.")
            }
        }
        return try run.gatewayVerdict()
    }
}

extension Optional {
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let value = self else { return nil }
        return try await transform(value)
    }
}
