import KeywardCrypto

/// An IPv4 or IPv6 network in CIDR notation, used by key IP allowlists and the trusted-proxy list.
public struct IPNetwork: Sendable, Hashable, CustomStringConvertible, Codable {
    /// Network address bytes (4 or 16), host bits cleared.
    public let address: [UInt8]
    /// Prefix length.
    public let prefixLength: Int

    /// Parses `a.b.c.d/n`, `x:y::z/n`, or a bare address (a single host).
    public init(parsing text: String) throws(KeywardError) {
        let invalid = KeywardError.invalid(
            .invalidCIDR,
            "'\(text.prefix(64))' is not an IPv4 or IPv6 address or CIDR block (e.g. 203.0.113.0/24 or 2001:db8::/32)."
        )
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let bytes = IPAddressBytes.parse(String(parts[0])) else { throw invalid }
        let maximum = bytes.count * 8
        var length = maximum
        if parts.count == 2 {
            guard let parsed = Int(parts[1]), parts[1].allSatisfy(\.isNumber), (0...maximum).contains(parsed) else { throw invalid }
            length = parsed
        }
        self.prefixLength = length
        self.address = Self.mask(bytes, prefixLength: length)
    }

    /// Whether `bytes` (4 or 16, from `IPAddressBytes.parse`) lies inside this network. An IPv4-mapped
    /// IPv6 address (`::ffff:a.b.c.d`) matches IPv4 networks, as dual-stack sockets report them that way.
    public func contains(_ bytes: [UInt8]) -> Bool {
        var candidate = bytes
        if candidate.count == 16, address.count == 4, candidate.prefix(12) == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff] {
            candidate = Array(candidate.suffix(4))
        }
        guard candidate.count == address.count else { return false }
        return Self.mask(candidate, prefixLength: prefixLength) == address
    }

    /// Whether the textual address lies inside this network.
    public func contains(address text: String) -> Bool {
        IPAddressBytes.parse(text).map(contains) ?? false
    }

    public var description: String {
        let host: String
        if address.count == 4 {
            host = address.map(String.init).joined(separator: ".")
        } else {
            host = Self.formatIPv6(address)
        }
        return "\(host)/\(prefixLength)"
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        self = try IPNetwork(parsing: text)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    static func mask(_ bytes: [UInt8], prefixLength: Int) -> [UInt8] {
        bytes.enumerated().map { index, byte in
            let bitsBefore = index * 8
            if prefixLength >= bitsBefore + 8 { return byte }
            if prefixLength <= bitsBefore { return 0 }
            return byte & UInt8(truncatingIfNeeded: 0xff << (8 - (prefixLength - bitsBefore)))
        }
    }
}
