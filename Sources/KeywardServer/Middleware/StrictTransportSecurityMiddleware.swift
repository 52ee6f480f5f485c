import Hummingbird
import KeywardCore
import KeywardCrypto
import KeywardDialects

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
