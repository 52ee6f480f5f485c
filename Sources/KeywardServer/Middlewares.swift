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
                let session = try await sessions.authenticate(deviceID: deviceID, refreshToken: request.headers[.allianceRefreshToken] ?? "",
                                                              clientAddress: context.clientAddress)
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
            throw KeywardError(.unauthenticated, "invalid_key", "Send exactly one Authorization header.")
        }
        switch NativeAuthorization.parse(values.first) {
        case .missing:
            throw KeywardError(.unauthenticated, "missing_credentials", "No secret key given. Send 'Authorization: Bearer <your secret key>'.")
        case .malformed(let reason):
            throw KeywardError(.unauthenticated, "invalid_key", reason)
        case .key(let presented):
            let key = try await authenticator.authenticate(presented, clientAddress: context.clientAddress)
            context.key = key
            return (request, context, key)
        }
    }
}

/// Resolves the caller's address: the TCP peer, or, when the peer is a trusted proxy, the right-most
/// `X-Forwarded-For` entry that is not itself a trusted proxy.
struct ClientAddressMiddleware: RouterMiddleware {
    typealias Context = KeywardRequestContext
    let trustedProxies: [IPNetwork]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard !trustedProxies.isEmpty, let peer = context.clientAddress, isTrusted(peer) else {
            return try await next(request, context)
        }
        var context = context
        let hops = request.headers[values: .xForwardedFor].flatMap { $0.split(separator: ",") }
            .map { $0.trimmingCharacters(in: .whitespaces) }
        for hop in hops.reversed() {
            guard let bytes = IPAddressBytes.parse(hop) else { break }
            context.forwardedClient = bytes
            if !isTrusted(bytes) { break }
        }
        return try await next(request, context)
    }

    func isTrusted(_ address: [UInt8]) -> Bool { trustedProxies.contains { $0.contains(address) } }
}

/// Guards the plain-HTTP listener: API calls get 403 `https_required` (never a redirect: a redirected
/// call has already sent its key in clear), browsers get a redirect, `/.well-known/` is served. A
/// trusted TLS-terminating proxy saying `X-Forwarded-Proto: https` is let through.
struct PlainHTTPGuardMiddleware: RouterMiddleware {
    typealias Context = KeywardRequestContext
    let trustedProxies: [IPNetwork]
    let httpsPort: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        if path.hasPrefix("/.well-known/") || path == "/healthz" { return try await next(request, context) }
        if let peer = KeywardRequestContext.bytes(of: context.remoteAddress),
           trustedProxies.contains(where: { $0.contains(peer) }),
           request.headers[.xForwardedProto]?.lowercased() == "https" {
            return try await next(request, context)
        }
        let isAPICall = path.hasPrefix("/v1/") || path == "/v1" || request.headers[.authorization] != nil
            || !(request.method == .get || request.method == .head)
        if !isAPICall, let host = request.head.authority.flatMap(Self.hostPart) {
            let port = httpsPort == 443 ? "" : ":\(httpsPort)"
            return Response(status: .permanentRedirect, headers: [.location: "https://\(host)\(port)\(request.uri.string)"])
        }
        throw KeywardError(.forbidden, "https_required", "Keyward accepts API calls over HTTPS only. This call was sent over plain HTTP; if it carried a key, roll that key.")
    }

    /// The host of an authority (`example.com:8080`, `[::1]:8080`), only if it is made of characters a
    /// host name or address can hold, so a crafted Host header cannot shape the redirect.
    static func hostPart(_ authority: String) -> String? {
        let host: Substring
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            host = authority[...close]
        } else {
            host = authority.split(separator: ":", maxSplits: 1).first ?? ""
        }
        let allowed = host.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x2e || c == 0x2d || c == 0x3a || c == 0x5b || c == 0x5d
        }
        return !host.isEmpty && host.utf8.count <= 255 && allowed ? String(host) : nil
    }
}

/// `Strict-Transport-Security` on every HTTPS answer, errors included: a browser that once reached
/// Keyward over HTTPS never sends a cabinet cookie or a key over plain HTTP to this host again.
struct StrictTransportSecurityMiddleware: RouterMiddleware {
    typealias Context = KeywardRequestContext
    /// One year, the value HSTS preload lists expect; no `includeSubDomains`: merchants' own names may
    /// be subdomains of the platform's and are not Keyward's to pin.
    static let value = "max-age=31536000"

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        response.headers[.strictTransportSecurity] = Self.value
        return response
    }
}
