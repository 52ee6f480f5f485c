import Hummingbird
import KeywardCore
import KeywardCrypto
import KeywardDialects

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
