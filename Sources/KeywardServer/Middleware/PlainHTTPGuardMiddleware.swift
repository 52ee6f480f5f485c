import Hummingbird
import KeywardCore
import KeywardCrypto
import KeywardDialects

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
            request.headers[.xForwardedProto]?.lowercased() == "https"
        {
            return try await next(request, context)
        }
        let isAPICall =
            path.hasPrefix("/v1/") || path == "/v1" || request.headers[.authorization] != nil
            || !(request.method == .get || request.method == .head)
        if !isAPICall, let host = request.head.authority.flatMap(Self.hostPart) {
            let port = httpsPort == 443 ? "" : ":\(httpsPort)"
            return Response(status: .permanentRedirect, headers: [.location: "https://\(host)\(port)\(request.uri.string)"])
        }
        throw KeywardError(
            .forbidden,
            .httpsRequired,
            "Keyward accepts API calls over HTTPS only. This call was sent over plain HTTP; if it carried a key, roll that key."
        )
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
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x2e || c == 0x2d || c == 0x3a || c == 0x5b
                || c == 0x5d
        }
        return !host.isEmpty && host.utf8.count <= 255 && allowed ? String(host) : nil
    }
}
