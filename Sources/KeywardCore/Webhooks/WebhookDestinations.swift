import Foundation
import KeywardCrypto

/// A webhook URL taken apart strictly: http or https, a host (a normalised name or an address), a
/// port, and the path with its query. No credentials, no fragment, nothing a lenient parser elsewhere
/// could read differently.
public struct WebhookDestination: Sendable, Equatable {
    /// A DNS name (ASCII, lowercase, no trailing dot) or an address (4 or 16 bytes).
    public enum Host: Sendable, Equatable {
        case name(String)
        case address([UInt8])
    }

    /// `https` or `http`.
    public let scheme: String
    public let host: Host
    /// The port connected to (the scheme's default when the URL names none).
    public let port: Int
    /// Path and query as given, starting with `/`.
    public let pathAndQuery: String
    let portIsDefault: Bool

    /// The host as text: the name, `a.b.c.d`, or an IPv6 address without brackets.
    public var hostText: String {
        switch host {
        case .name(let name): name
        case .address(let bytes): WebhookDestinationPolicy.format(bytes)
        }
    }

    /// The URL rebuilt from the parts: the one spelling that is checked, resolved and requested.
    public var url: String {
        let authority = hostText.contains(":") ? "[\(hostText)]" : hostText
        return "\(scheme)://\(authority)\(portIsDefault ? "" : ":\(port)")\(pathAndQuery)"
    }
}

/// A destination whose every address passed the policy, and the one address to connect to.
public struct CheckedWebhookDestination: Sendable, Equatable {
    public let destination: WebhookDestination
    /// Every address the host had when it was checked, all allowed.
    public let addresses: [[UInt8]]

    /// The address to connect to, as text (IPv4-mapped addresses as plain IPv4). Connecting to this
    /// rather than resolving the name again is what stops DNS rebinding.
    public var connectAddress: String {
        let first = addresses.first ?? []
        if first.count == 16, first.prefix(12).elementsEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]) {
            return WebhookDestinationPolicy.format(Array(first.suffix(4)))
        }
        return WebhookDestinationPolicy.format(first)
    }
}

/// Where webhooks may go: only globally reachable addresses (see `SpecialPurposeAddresses`), plus the
/// networks the operator allows (`webhook_allowed_networks`). Names are resolved and every address
/// they have must pass; `localhost` and `*.localhost` are the machine itself whatever DNS says.
/// Checked when an endpoint is registered and again, with a fresh resolution, at every delivery.
public struct WebhookDestinationPolicy: Sendable {
    /// Networks allowed although special-purpose (a development setup's loopback or private network).
    public var allowedNetworks: [IPNetwork]
    public var resolver: WebhookNameResolver

    /// A policy that allows `allowedNetworks` besides public addresses and resolves names with `resolver`.
    public init(allowedNetworks: [IPNetwork] = [], resolver: WebhookNameResolver = .system) {
        self.allowedNetworks = allowedNetworks
        self.resolver = resolver
    }

    /// Parses `url` (shape only, no resolution). Throws `invalid_url`.
    public static func parse(_ url: String) throws(KeywardError) -> WebhookDestination {
        func invalid(_ why: String) -> KeywardError { .invalid(.invalidURL, "'url' \(why)", field: "url") }
        let shape = invalid("must be an https:// (or http://) URL without credentials.")
        guard url.utf8.count <= 2000, let separator = url.range(of: "://") else { throw shape }
        let scheme = url[..<separator.lowerBound].lowercased()
        guard scheme == "https" || scheme == "http" else { throw shape }
        let rest = url[separator.upperBound...]
        // Printable characters only; non-ASCII only in the host (an internationalised name).
        guard rest.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value != 0x7f && $0 != "\\" }) else {
            throw invalid("must not contain spaces, control characters or backslashes.")
        }
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        var pathAndQuery = String(rest[authorityEnd...])
        guard !authority.contains("@") else { throw shape }
        guard !pathAndQuery.contains("#") else { throw invalid("must not have a #fragment (it is never sent).") }
        guard pathAndQuery.unicodeScalars.allSatisfy(\.isASCII) else { throw invalid("must percent-encode its path and query.") }
        if !pathAndQuery.hasPrefix("/") { pathAndQuery = "/" + pathAndQuery }

        var hostPart = authority
        var portPart: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw invalid("has an unclosed '[' in its host.") }
            hostPart = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw invalid("has something after its IPv6 address that is not a port.") }
                portPart = after.dropFirst()
            }
        } else if let colon = authority.lastIndex(of: ":") {
            hostPart = authority[..<colon]
            portPart = authority[authority.index(after: colon)...]
        }
        var port = scheme == "https" ? 443 : 80
        if let portPart {
            guard (1...5).contains(portPart.count), portPart.allSatisfy({ $0.isASCII && $0.isNumber }), let number = Int(portPart),
                (1...65535).contains(number)
            else {
                throw invalid("has a port that is not 1 to 65535.")
            }
            port = number
        }
        let host = try parseHost(hostPart, bracketed: authority.hasPrefix("["))
        let destination = WebhookDestination(scheme: scheme, host: host, port: port, pathAndQuery: pathAndQuery, portIsDefault: portPart == nil)
        // The HTTP client parses the rebuilt URL again: it must see the very host that was checked.
        guard let reparsed = URL(string: destination.url), let seen = reparsed.host,
            seen.trimmingCharacters(in: CharacterSet(charactersIn: "[]")).lowercased() == destination.hostText
        else {
            throw invalid("cannot be used as a webhook URL.")
        }
        return destination
    }

    static func parseHost(_ text: Substring, bracketed: Bool) throws(KeywardError) -> WebhookDestination.Host {
        func invalid(_ why: String) -> KeywardError { .invalid(.invalidURL, "'url' \(why)", field: "url") }
        guard !text.isEmpty else { throw invalid("must name a host.") }
        guard !text.contains("%") else { throw invalid("must not percent-encode its host or name an IPv6 zone.") }
        if bracketed {
            guard let bytes = IPAddressBytes.parse(String(text)), bytes.count == 16 else { throw invalid("has a malformed IPv6 address.") }
            return .address(bytes)
        }
        guard var name = IDNA.toASCII(String(text)) else { throw invalid("has a host that is not a valid name.") }
        if name.hasSuffix(".") { name.removeLast() }
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        guard let last = labels.last, !name.isEmpty else { throw invalid("must name a host.") }
        if LenientIPv4.looksNumeric(last) {
            guard let bytes = LenientIPv4.parse(name) else { throw invalid("has a host that looks like an IPv4 address but is not one.") }
            return .address(bytes)
        }
        let valid =
            name.utf8.count <= 253
            && labels.allSatisfy { label in
                (1...63).contains(label.utf8.count) && label.first != "-" && label.last != "-"
                    && label.utf8.allSatisfy { c in c == UInt8(ascii: "-") || (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7a) }
            }
        guard valid else { throw invalid("has a host that is not a valid name (letters, digits and hyphens, dot-separated).") }
        return .name(name)
    }

    /// Parses, resolves and checks `url`: every address must be allowed. Throws `invalid_url`,
    /// `webhook_destination_forbidden` or `webhook_host_unresolvable` (all invalid input).
    public func check(_ url: String) async throws -> CheckedWebhookDestination {
        try await check(try Self.parse(url))
    }

    /// Resolves (once) and checks a parsed destination.
    public func check(_ destination: WebhookDestination) async throws -> CheckedWebhookDestination {
        switch destination.host {
        case .address(let bytes):
            if let block = refusal(for: bytes) {
                throw Self.forbidden("Webhooks are not sent to \(destination.hostText), a \(block.description).")
            }
            return CheckedWebhookDestination(destination: destination, addresses: [bytes])
        case .name(let name):
            // RFC 6761: localhost names are the loopback interface, whatever a resolver would answer.
            if name == "localhost" || name.hasSuffix(".localhost") {
                let loopback: [[UInt8]] = [[127, 0, 0, 1], SpecialPurposeAddresses.v6(0, last: 1)]
                guard loopback.allSatisfy({ refusal(for: $0) == nil }) else {
                    throw Self.forbidden("Webhooks are not sent to '\(name)': localhost names are this server's own loopback interface.")
                }
                return CheckedWebhookDestination(destination: destination, addresses: loopback)
            }
            let addresses: [[UInt8]]
            do {
                addresses = try await resolver.resolve(name).filter { $0.count == 4 || $0.count == 16 }
            } catch let failure as WebhookNameResolver.LookupFailed where failure.temporary {
                throw KeywardError.invalid(.webhookHostUnresolvable, "'\(name)' could not be resolved just now; try again.", field: "url")
            } catch {
                addresses = []
            }
            guard !addresses.isEmpty else {
                throw KeywardError.invalid(.webhookHostUnresolvable, "'\(name)' does not resolve to any address; check the host name.", field: "url")
            }
            // Every address, not just the first: a client may use any of them.
            for address in addresses {
                if let block = refusal(for: address) {
                    throw Self.forbidden("Webhooks are not sent to '\(name)': it resolves to a \(block.description).")
                }
            }
            return CheckedWebhookDestination(destination: destination, addresses: addresses)
        }
    }

    /// Why `address` is refused (the special-purpose block it is in), or nil when it may be reached:
    /// it is globally reachable, or inside one of the allowed networks.
    public func refusal(for address: [UInt8]) -> SpecialPurposeAddresses.Block? {
        if allowedNetworks.contains(where: { $0.contains(address) }) { return nil }
        if let embedded = SpecialPurposeAddresses.embeddedIPv4(address), allowedNetworks.contains(where: { $0.contains(embedded) }) { return nil }
        return SpecialPurposeAddresses.block(of: address)
    }

    static func forbidden(_ message: String) -> KeywardError {
        .invalid(
            .webhookDestinationForbidden,
            message + " Webhooks go only to public addresses; the server's operator can allow a network with webhook_allowed_networks.",
            field: "url"
        )
    }

    /// `a.b.c.d`, or an IPv6 address in its compressed form.
    static func format(_ bytes: [UInt8]) -> String {
        bytes.count == 4 ? bytes.map(String.init).joined(separator: ".") : IPNetwork.formatIPv6(bytes)
    }
}
