/// Addresses a webhook never reaches unless the operator allows their network: everything that is not a
/// globally reachable unicast address.
///
/// The list is the IANA IPv4 and IPv6 Special-Purpose Address Registries (RFC 6890 and its updates, as
/// published in 2025) taking every entry whose "Globally Reachable" is False or N/A, plus the multicast
/// blocks (224.0.0.0/4, ff00::/8), and for IPv6 anything outside the global unicast space 2000::/3
/// (reserved by the IETF: this also catches the deprecated site-local fec0::/10 and IPv4-compatible
/// ::/96). Two simplifications, both towards refusing: 192.0.0.0/24 and 2001::/23 are refused whole,
/// although each holds a few globally reachable anycast services (PCP, TURN, AS112, AMT, ORCHIDv2), which
/// are not webhook receivers. Addresses that carry an IPv4 address inside an IPv6 one (IPv4-mapped
/// ::ffff:0:0/96, NAT64 64:ff9b::/96, 6to4 2002::/16) are judged by the IPv4 address they carry.
public enum SpecialPurposeAddresses {
    /// One refused block and what it is, for the refusal message.
    public struct Block: Sendable, Equatable {
        public let network: IPNetwork
        public let name: String

        init(_ bytes: [UInt8], _ prefixLength: Int, _ name: String) {
            self.network = IPNetwork(bytes: bytes, prefixLength: prefixLength)
            self.name = name
        }

        /// "loopback (127.0.0.0/8)".
        public var description: String { "\(name) (\(network))" }
    }

    /// Refused IPv4 blocks, most specific first where they overlap.
    public static let ipv4: [Block] = [
        Block([0, 0, 0, 0], 8, "\"this network\" address"),
        Block([10, 0, 0, 0], 8, "private address"),
        Block([100, 64, 0, 0], 10, "shared (carrier-grade NAT) address"),
        Block([127, 0, 0, 0], 8, "loopback address"),
        Block([169, 254, 0, 0], 16, "link-local address (cloud metadata lives here)"),
        Block([172, 16, 0, 0], 12, "private address"),
        Block([192, 0, 0, 0], 24, "IETF protocol assignment"),
        Block([192, 0, 2, 0], 24, "documentation address"),
        Block([192, 88, 99, 0], 24, "deprecated 6to4 relay anycast address"),
        Block([192, 168, 0, 0], 16, "private address"),
        Block([198, 18, 0, 0], 15, "benchmarking address"),
        Block([198, 51, 100, 0], 24, "documentation address"),
        Block([203, 0, 113, 0], 24, "documentation address"),
        Block([224, 0, 0, 0], 4, "multicast address"),
        Block([255, 255, 255, 255], 32, "broadcast address"),
        Block([240, 0, 0, 0], 4, "reserved address"),
    ]

    /// Refused IPv6 blocks (after the embedded-IPv4 forms are taken apart), most specific first.
    public static let ipv6: [Block] = [
        Block(v6(0), 128, "unspecified address"),
        Block(v6(0, last: 1), 128, "loopback address"),
        Block(v6(0), 96, "IPv4-compatible address (deprecated)"),
        Block(v6(0x00, 0x64, 0xff, 0x9b, 0x00, 0x01), 48, "local-use IPv4/IPv6 translation address"),
        Block(v6(0x01, 0x00), 64, "discard-only address"),
        Block(v6(0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01), 64, "dummy IPv6 prefix"),
        Block(v6(0x20, 0x01, 0x0d, 0xb8), 32, "documentation address"),
        Block(v6(0x20, 0x01), 23, "IETF protocol assignment (Teredo, benchmarking, ORCHID)"),
        Block(v6(0x3f, 0xff), 20, "documentation address"),
        Block(v6(0x5f, 0x00), 16, "segment routing address"),
        Block(v6(0xfc), 7, "unique local (private) address"),
        Block(v6(0xfe, 0x80), 10, "link-local address"),
        Block(v6(0xfe, 0xc0), 10, "site-local address (deprecated)"),
        Block(v6(0xff), 8, "multicast address"),
    ]

    /// What is left outside 2000::/3 once the blocks above are checked.
    static let outsideGlobalUnicast = Block(v6(0), 0, "reserved IPv6 address (outside 2000::/3)")
    static let globalUnicast = IPNetwork(bytes: v6(0x20), prefixLength: 3)

    /// The refused block `bytes` (4 or 16) falls in, or nil when it is a globally reachable unicast
    /// address. Embedded IPv4 forms answer for the IPv4 address they carry.
    public static func block(of bytes: [UInt8]) -> Block? {
        if let embedded = embeddedIPv4(bytes) { return block(of: embedded) }
        switch bytes.count {
        case 4: return ipv4.first { $0.network.contains(bytes) }
        case 16:
            if let found = ipv6.first(where: { $0.network.contains(bytes) }) { return found }
            return globalUnicast.contains(bytes) ? nil : outsideGlobalUnicast
        default: return Block(v6(0), 0, "malformed address")
        }
    }

    /// The IPv4 address inside an IPv4-mapped (::ffff:a.b.c.d), NAT64 (64:ff9b::a.b.c.d) or 6to4
    /// (2002:aabb:ccdd::) IPv6 address; nil for anything else.
    public static func embeddedIPv4(_ bytes: [UInt8]) -> [UInt8]? {
        guard bytes.count == 16 else { return nil }
        if bytes.prefix(12).elementsEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]) { return Array(bytes.suffix(4)) }
        if bytes.prefix(12).elementsEqual([0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0]) { return Array(bytes.suffix(4)) }
        if bytes[0] == 0x20, bytes[1] == 0x02 { return Array(bytes[2..<6]) }
        return nil
    }

    /// Sixteen bytes starting with `head` (the rest zero), or ending in `last`.
    static func v6(_ head: UInt8..., last: UInt8 = 0) -> [UInt8] {
        var bytes = head + [UInt8](repeating: 0, count: 16 - head.count)
        bytes[15] = last
        return bytes
    }
}

extension IPNetwork {
    /// A network from its bytes (host bits are cleared), for tables built in code.
    init(bytes: [UInt8], prefixLength: Int) {
        self.prefixLength = prefixLength
        self.address = Self.mask(bytes, prefixLength: prefixLength)
    }
}

/// IPv4 addresses in every spelling `inet_aton` (and so `getaddrinfo`, curl and browsers' legacy
/// parsers) accepts: one to four dot-separated parts, each decimal, octal (leading 0) or hexadecimal
/// (0x); the last part fills the remaining bytes (`127.1` is 127.0.0.1, `2130706433` is 127.0.0.1,
/// `0x7f.1` too). A URL host written this way must not slip past a check that only knows a.b.c.d.
public enum LenientIPv4 {
    /// The four bytes, or nil when `text` is not such an address (including when a part overflows,
    /// which some C libraries would wrap around).
    public static func parse(_ text: String) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...4).contains(parts.count) else { return nil }
        var values: [UInt64] = []
        for part in parts {
            guard let value = number(part) else { return nil }
            values.append(value)
        }
        let last = values.removeLast()
        guard values.allSatisfy({ $0 <= 0xff }), last < (UInt64(1) << (8 * (4 - values.count))) else { return nil }
        var address = values.reduce(UInt64(0)) { $0 << 8 | $1 }
        address = address << (8 * (4 - values.count)) | last
        return [UInt8(address >> 24 & 0xff), UInt8(address >> 16 & 0xff), UInt8(address >> 8 & 0xff), UInt8(address & 0xff)]
    }

    /// Whether `label` (the last label of a host) is a number (decimal digits, or 0x and hex digits),
    /// so the host must be an IPv4 address or nothing: the WHATWG URL standard's "ends in a number" rule.
    public static func looksNumeric(_ label: Substring) -> Bool {
        let lower = label.lowercased()
        if lower.hasPrefix("0x") { return lower.dropFirst(2).allSatisfy { $0.isASCII && $0.isHexDigit } }
        return !lower.isEmpty && lower.allSatisfy { $0.isASCII && $0.isNumber }
    }

    static func number(_ part: Substring) -> UInt64? {
        guard !part.isEmpty, part.utf8.count <= 32 else { return nil }
        let lower = part.lowercased()
        // Digits only: Swift's integer parser would also take a leading sign, inet_aton does not.
        if lower.hasPrefix("0x") {
            let digits = lower.dropFirst(2)
            guard digits.allSatisfy({ $0.isASCII && $0.isHexDigit }) else { return nil }
            return digits.isEmpty ? 0 : UInt64(digits, radix: 16)  // inet_aton reads a bare "0x" as 0
        }
        guard lower.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        if lower.hasPrefix("0"), lower.count > 1 { return UInt64(lower.dropFirst(), radix: 8) }
        return UInt64(lower, radix: 10)
    }
}
