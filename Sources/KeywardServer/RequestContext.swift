import Hummingbird
import KeywardCore
import KeywardCrypto
import NIOCore

/// Per-request state: the peer, the request id, and (after authentication) the key it speaks for.
public struct KeywardRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The TCP peer.
    public let remoteAddress: SocketAddress?
    /// The caller's address: the peer, or the client named by a trusted proxy.
    public var clientAddress: [UInt8]?
    /// Id echoed in `Keyward-Request-Id` and every log line of the request.
    public var requestID: String = ""
    /// Set by the authentication middleware.
    public var key: AuthenticatedKey?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
        self.clientAddress = remoteAddress?.ipAddress.flatMap(IPAddressBytes.parse)
    }

    /// The authenticated key; only called behind the authentication middleware.
    func requireKey() throws -> AuthenticatedKey {
        guard let key else {
            throw KeywardError(.unauthenticated, "missing_credentials", "This endpoint needs a secret key in the Authorization header.")
        }
        return key
    }
}
