/// Names no merchant may claim: the server's own names (its `--hostname`s, and later its public URL's
/// host) and the operator's deny list. Checked when a channel is created and again before a domain is
/// verified or served, so a name reserved after it was claimed stops serving too.
public struct ReservedDomains: Sendable, Equatable {
    /// The server's own names, normalized (IP addresses and single-label names such as `localhost`
    /// are left out: no channel can hold them anyway).
    public let serverNames: [String]
    /// Exact names the operator denies.
    public let deniedNames: [String]
    /// `*.suffix` entries of the deny list, as the suffix: every name below it is denied.
    public let deniedSuffixes: [String]

    /// Nothing reserved.
    public static let none = ReservedDomains(serverNames: [], deniedNames: [], deniedSuffixes: [])

    init(serverNames: [String], deniedNames: [String], deniedSuffixes: [String]) {
        self.serverNames = serverNames
        self.deniedNames = deniedNames
        self.deniedSuffixes = deniedSuffixes
    }

    /// `serverNames`: every name the server answers as (anything that is not a DNS name is skipped).
    /// `denied`: the operator's list, exact names and `*.suffix` patterns; a malformed entry is refused
    /// (a deny list that silently drops an entry protects nothing).
    public init(serverNames: [String], denied: [String]) throws(KeywardError) {
        self.serverNames = serverNames.compactMap { try? DomainName.normalize($0, allowWildcard: false) }
        var names: [String] = []
        var suffixes: [String] = []
        for entry in denied {
            let value = try DomainName.normalize(entry, allowWildcard: true)
            if value.hasPrefix("*.") { suffixes.append(DomainName.base(value)) } else { names.append(value) }
        }
        deniedNames = names
        deniedSuffixes = suffixes
    }

    /// Why `domain` (normalized, possibly `*.x`) cannot be claimed, or nil when it can. A wildcard is
    /// reserved when it would cover a reserved name (`*.example.com` covers the server's `api.example.com`).
    public func reason(for domain: String) -> String? {
        for name in serverNames where DomainName.covers(domain, name) {
            return domain == name ? "\(domain) is this server's own name." : "\(domain) would cover this server's own name \(name)."
        }
        for name in deniedNames where DomainName.covers(domain, name) {
            return domain == name ? "\(domain) is reserved by the operator." : "\(domain) would cover \(name), which is reserved by the operator."
        }
        // `*.suffix` denies every name below the suffix; a wildcard `*.x` covers names just below x.
        let base = DomainName.base(domain)
        for suffix in deniedSuffixes {
            let covered = domain.hasPrefix("*.") ? (base == suffix || DomainName.isBelow(base, suffix)) : DomainName.isBelow(domain, suffix)
            if covered { return "\(domain) lies under *.\(suffix), which is reserved by the operator." }
        }
        return nil
    }

    /// Refuses a reserved name with 403 `domain_reserved`.
    public func check(_ domain: String) throws(KeywardError) {
        if let reason = reason(for: domain) {
            throw KeywardError(.forbidden, .domainReserved, "\(reason) It cannot be claimed by a sales channel.", field: "domains")
        }
    }
}
