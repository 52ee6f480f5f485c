import Hummingbird
import KeywardCore
import KeywardCrypto
import KeywardDialects

/// Authenticates `/v1/` calls by secret key (`Authorization: Bearer <key>` or the bare key). Without
/// `Authorization`, another scheme: an Alliance technical session (`x-device_id` + `x-refresh_token`),
/// RFC 9421 (`Signature-Input`), AliKassa (`Account` + `Sign`), or a myPOS IPC form (form body with
/// `SID`, `KeyIndex`, `Signature`).
struct SecretKeyAuthMiddleware: RouterMiddleware {
    typealias Context = KeywardRequestContext
    let authenticator: KeyAuthenticator
    let signatures: HTTPSignatureAuthenticator
    let providers: ProviderAuthenticator
    let sessions: DeviceSessionService
    /// Every verified call is counted against its rate limits before it goes on.
    let rateLimits: RateLimitGate

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let (request, context, key) = try await rateLimits.authenticate(context) { try await authenticate(request, context: context) }
        return try await rateLimits.run(key, context: context) { try await next(request, context) }
    }

    /// The request (its body possibly read, for schemes that sign it), the context with the verified key, and the key.
    private func authenticate(_ request: Request, context: Context) async throws -> (Request, Context, AuthenticatedKey) {
        var request = request
        var context = context
        if request.headers[.authorization] == nil {
            if request.headers[.signatureInput] != nil {
                let key = try await signatures.authenticate(&request, clientAddress: context.clientAddress)
                context.key = key
                return (request, context, key)
            }
            if let deviceID = request.headers[.allianceDeviceID] {
                let session = try await sessions.authenticate(
                    deviceID: deviceID,
                    refreshToken: request.headers[.allianceRefreshToken] ?? "",
                    clientAddress: context.clientAddress
                )
                context.key = session.principal
                context.session = session
                return (request, context, session.principal)
            }
            if request.headers[.aliKassaAccount] != nil {
                let key = try await providers.authenticateAliKassa(&request, clientAddress: context.clientAddress)
                context.key = key
                return (request, context, key)
            }
            if request.headers[.contentType]?.lowercased().hasPrefix("application/x-www-form-urlencoded") == true {
                let key = try await providers.authenticateMyPOS(&request, mode: nil, clientAddress: context.clientAddress).principal
                context.key = key
                return (request, context, key)
            }
        }
        let values = request.headers[values: .authorization]
        guard values.count <= 1 else {
            throw KeywardError(.unauthenticated, .invalidKey, "Send exactly one Authorization header.")
        }
        switch NativeAuthorization.parse(values.first) {
        case .missing:
            throw KeywardError(.unauthenticated, .missingCredentials, "No secret key given. Send 'Authorization: Bearer <your secret key>'.")
        case .malformed(let reason):
            throw KeywardError(.unauthenticated, .invalidKey, reason)
        case .key(let presented):
            let key = try await authenticator.authenticate(presented, clientAddress: context.clientAddress)
            context.key = key
            return (request, context, key)
        }
    }
}
