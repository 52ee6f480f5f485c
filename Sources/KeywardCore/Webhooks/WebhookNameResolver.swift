import KeywardCrypto
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// How webhook host names become addresses. The system resolver asks `getaddrinfo` (the hosts file,
/// then DNS) on NIO's blocking-I/O thread pool, never on the cooperative pool, which a slow DNS server
/// would otherwise stall. Tests substitute a table so no name is ever looked up on the network.
public struct WebhookNameResolver: Sendable {
    let lookup: @Sendable (String) async throws -> [[UInt8]]

    /// A resolver from a function returning addresses of 4 or 16 bytes (empty or throwing = no address).
    public init(_ lookup: @escaping @Sendable (String) async throws -> [[UInt8]]) {
        self.lookup = lookup
    }

    /// Every address `name` has (IPv4 and IPv6), in the resolver's order; empty when it has none.
    public func resolve(_ name: String) async throws -> [[UInt8]] {
        try await lookup(name)
    }

    /// `getaddrinfo`, on NIO's thread pool.
    public static let system = WebhookNameResolver { name in
        try await NIOThreadPool.singleton.runIfActive { try getAddresses(name) }
    }

    /// A fixed table of names to textual addresses; any other name has no address. For tests.
    public static func fixed(_ table: [String: [String]]) -> WebhookNameResolver {
        WebhookNameResolver { name in (table[name] ?? []).compactMap { IPAddressBytes.parse($0) } }
    }

    /// A name that could not be looked up; `temporary` when the resolver said to try again.
    public struct LookupFailed: Error, Sendable {
        public let temporary: Bool

        public init(temporary: Bool) { self.temporary = temporary }
    }

    /// EAI_NODATA (the name exists but has no address); glibc declares it only for _GNU_SOURCE.
    #if os(Linux)
    static let noData: Int32 = -5
    #else
    static let noData: Int32 = EAI_NODATA
    #endif

    static func getAddresses(_ name: String) throws -> [[UInt8]] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(name, nil, &hints, &list)
        guard status == 0 else {
            if status == EAI_NONAME || status == EAI_FAIL || status == noData { return [] }
            throw LookupFailed(temporary: status == EAI_AGAIN)
        }
        defer { freeaddrinfo(list) }
        var addresses: [[UInt8]] = []
        var cursor = list
        while let entry = cursor?.pointee {
            defer { cursor = entry.ai_next }
            guard let socketAddress = entry.ai_addr else { continue }
            var bytes: [UInt8]
            switch entry.ai_family {
            case AF_INET:
                bytes = socketAddress.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { pointer in
                    withUnsafeBytes(of: pointer.pointee.sin_addr) { Array($0) }
                }
            case AF_INET6:
                bytes = socketAddress.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in
                    withUnsafeBytes(of: pointer.pointee.sin6_addr) { Array($0) }
                }
            default: continue
            }
            if !addresses.contains(bytes) { addresses.append(bytes) }
        }
        return addresses
    }
}
