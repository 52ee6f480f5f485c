import Hummingbird
import KeywardCore
import KeywardCrypto
import NIOCore

/// Per-request state: the peer, the request id, and (after authentication) the key it speaks for.
public struct KeywardRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The TCP peer.
    public let remoteAddress: SocketAddress?
    /// The connection the request came on (to hold its reads while a refusal waits, `ConnectionReads`).
    let connection: any Channel
    /// The client named by a trusted proxy's `X-Forwarded-For`, when there is one.
    var forwardedClient: [UInt8]?
    /// The caller's address: the client named by a trusted proxy, else the TCP peer. Computed only
    /// when needed (allowlists, forwarding): most requests never look.
    public var clientAddress: [UInt8]? { forwardedClient ?? Self.bytes(of: remoteAddress) }
    /// Id echoed in `Keyward-Request-Id` and every log line of the request.
    public var requestID: String = ""
    /// Set by the authentication middleware.
    public var key: AuthenticatedKey?
    /// Set when a technical session (Alliance dialect) authenticated the call: its keys.
    public var session: AuthenticatedSession?
    /// Set by the cabinet's session middleware: the signed-in member.
    var cabinet: CabinetPrincipal?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
        self.connection = source.channel
    }

    /// Network-order bytes of an IP socket address, read straight from the sockaddr.
    static func bytes(of address: SocketAddress?) -> [UInt8]? {
        switch address {
        case .v4(let v4):
            return withUnsafeBytes(of: v4.address.sin_addr) { Array($0) }
        case .v6(let v6):
            return withUnsafeBytes(of: v6.address.sin6_addr) { Array($0) }
        default:
            return nil
        }
    }

    /// The caller's address as text (for throttles, audit and session lists); "unknown" without one.
    var clientAddressText: String { clientAddress.map(IPText.format) ?? "unknown" }

    /// The authenticated key; only called behind the authentication middleware.
    func requireKey() throws -> AuthenticatedKey {
        guard let key else {
            throw KeywardError(.unauthenticated, .missingCredentials, "This endpoint needs a secret key in the Authorization header.")
        }
        return key
    }
}
