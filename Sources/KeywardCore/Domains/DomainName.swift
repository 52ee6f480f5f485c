import Foundation

/// DNS names as channels and certificates use them: lowercase LDH labels, at most 253 characters, at
/// least two labels; a leading `*.` only where wildcards make sense (an uploaded certificate, never an
/// HTTP-01 order, which cannot prove a wildcard).
///
/// Every name is compared in one form: IDNA A-labels (`BÜCHER.example.` → `xn--bcher-kva.example`),
/// lowercase, without a trailing dot, so two spellings of a name can never be two claims. The mapping and
/// the A-labels are `IDNA`'s, the one Keyward has (webhook hosts are read by it too).
public enum DomainName {
    public static func normalize(_ value: String, allowWildcard: Bool) throws(KeywardError) -> String {
        let shown = value.prefix(80)
        guard value.utf8.count <= 1024 else {
            throw .invalid(.invalidDomain, "'\(shown)…' is not a DNS name (too long).", field: "domains")
        }
        // IDNA's other full stops are dots; then UTS #46's mapping in brief.
        var name = IDNA.mapped(IDNA.dotted(value.trimmingCharacters(in: .whitespaces)))
        if name.hasSuffix(".") { name.removeLast() }
        var wildcard = false
        var rest = Substring(name)
        if rest.hasPrefix("*.") {
            guard allowWildcard else {
                throw .invalid(
                    .wildcardNotAllowed,
                    "'\(shown)' is a wildcard; a managed (ACME HTTP-01) channel needs each name spelled out.",
                    field: "domains"
                )
            }
            wildcard = true
            rest = rest.dropFirst(2)
        }
        let invalid = KeywardError.invalid(
            .invalidDomain,
            "'\(shown)' is not a DNS name (letters, digits and hyphens, dot-separated, no IP addresses).",
            field: "domains"
        )
        var labels: [String] = []
        for label in rest.split(separator: ".", omittingEmptySubsequences: false) {
            guard let ascii = IDNA.asciiLabel(label) else { throw invalid }
            labels.append(ascii)
        }
        let encoded = (wildcard ? "*." : "") + labels.joined(separator: ".")
        let valid =
            encoded.utf8.count <= 253 && labels.count >= 2
            && labels.allSatisfy { label in
                (1...63).contains(label.utf8.count) && label.first != "-" && label.last != "-"
                    && label.utf8.allSatisfy { c in c == UInt8(ascii: "-") || (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7a) }
            } && !(labels.last?.allSatisfy(\.isNumber) ?? true)
        guard valid else { throw invalid }
        return encoded
    }

    /// The name as people read it (`xn--bcher-kva.example` → `bücher.example`); the name itself when a
    /// label does not decode.
    public static func display(_ name: String) -> String {
        name.split(separator: ".", omittingEmptySubsequences: false).map { label -> String in
            guard label.hasPrefix("xn--"), let scalars = Punycode.decode(label.dropFirst(4)) else { return String(label) }
            return String(String.UnicodeScalarView(scalars))
        }.joined(separator: ".")
    }

    /// A name a client sent (TLS SNI, the Host header) in the form channels store: lowercase, port and
    /// trailing dot removed. Nil when it cannot be a DNS name (empty, an IP literal, too long).
    public static func host(_ value: String) -> String? {
        guard !value.isEmpty, value.utf8.count <= 300, !value.hasPrefix("[") else { return nil }
        var name = value.lowercased()
        if let colon = name.lastIndex(of: ":") {
            guard name[name.index(after: colon)...].allSatisfy(\.isNumber) else { return nil }
            name = String(name[..<colon])
        }
        if name.hasSuffix(".") { name.removeLast() }
        guard !name.isEmpty, name.utf8.count <= 253 else { return nil }
        return name
    }

    /// Whether certificate name `pattern` (possibly `*.x`) covers `domain` (one label deep, as TLS does).
    public static func covers(_ pattern: String, _ domain: String) -> Bool {
        let pattern = pattern.lowercased()
        let domain = domain.lowercased()
        if pattern == domain { return true }
        guard pattern.hasPrefix("*."), let dot = domain.firstIndex(of: ".") else { return false }
        return domain[domain.index(after: dot)...] == pattern.dropFirst(2) && !domain.hasPrefix("*.")
    }

    /// Whether `name` lies strictly below `suffix` (`a.b.example` below `example`), at any depth.
    public static func isBelow(_ name: String, _ suffix: String) -> Bool {
        name.count > suffix.count + 1 && name.hasSuffix("." + suffix)
    }

    /// The name a wildcard stands under (`*.example.com` → `example.com`); the name itself otherwise.
    public static func base(_ name: String) -> String {
        name.hasPrefix("*.") ? String(name.dropFirst(2)) : name
    }
}
