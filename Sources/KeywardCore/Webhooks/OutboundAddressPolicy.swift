/// Which addresses Keyward may connect to when a merchant chose the name (domain verification's HTTP
/// check): public unicast addresses only, unless the operator allows a network
/// (`verification_allowed_networks`). Loopback, private, link-local, CGNAT, multicast, documentation
/// and other special-purpose ranges (RFC 6890 and its IPv6 kin) would otherwise let a merchant make
/// Keyward probe its own network.
public struct OutboundAddressPolicy: Sendable, Equatable {
    /// Networks the operator lets checks reach even though they are not public.
    public let allowedNetworks: [IPNetwork]

    public init(allowedNetworks: [IPNetwork] = []) {
        self.allowedNetworks = allowedNetworks
    }

    /// Whether a connection to `address` (4 or 16 bytes) is allowed.
    public func permits(_ address: [UInt8]) -> Bool {
        allowedNetworks.contains { $0.contains(address) } || Self.isPublic(address)
    }

    static let specialIPv4: [IPNetwork] = [
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24",
        "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
    ].compactMap { try? IPNetwork(parsing: $0) }

    static let specialIPv6: [IPNetwork] = [
        "::/128", "::1/128", "100::/64", "2001::/23", "2001:db8::/32", "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
    ].compactMap { try? IPNetwork(parsing: $0) }

    /// Whether `address` is a public unicast address. IPv6 forms that carry an IPv4 address
    /// (mapped `::ffff:a.b.c.d`, compatible `::a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`) are
    /// judged by that IPv4 address.
    public static func isPublic(_ address: [UInt8]) -> Bool {
        switch address.count {
        case 4:
            return !specialIPv4.contains { $0.contains(address) }
        case 16:
            let prefix12 = Array(address.prefix(12))
            if prefix12 == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff] || prefix12 == Array(repeating: 0, count: 12)
                || prefix12 == [0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0]
            {
                return isPublic(Array(address.suffix(4)))
            }
            if address[0] == 0x20, address[1] == 0x02 { return isPublic(Array(address[2..<6])) }
            return !specialIPv6.contains { $0.contains(address) }
        default:
            return false
        }
    }
}
