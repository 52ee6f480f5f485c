import Foundation

/// DNS names as channels and certificates use them: lowercase LDH labels, at most 253 characters, at
/// least two labels; a leading `*.` only where wildcards make sense (an uploaded certificate, never an
/// HTTP-01 order, which cannot prove a wildcard).
public enum DomainName {
    public static func normalize(_ value: String, allowWildcard: Bool) throws(KeywardError) -> String {
        var name = value.trimmingCharacters(in: .whitespaces).lowercased()
        if name.hasSuffix(".") { name.removeLast() }
        var rest = Substring(name)
        if rest.hasPrefix("*.") {
            guard allowWildcard else {
                throw .invalid("wildcard_not_allowed", "'\(name.prefix(80))' is a wildcard; a managed (ACME HTTP-01) channel needs each name spelled out.", field: "domains")
            }
            rest = rest.dropFirst(2)
        }
        let labels = rest.split(separator: ".", omittingEmptySubsequences: false)
        let valid = name.utf8.count <= 253 && labels.count >= 2 && labels.allSatisfy { label in
            (1...63).contains(label.utf8.count) && label.first != "-" && label.last != "-"
                && label.utf8.allSatisfy { c in c == UInt8(ascii: "-") || (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7a) }
        } && !(labels.last?.allSatisfy(\.isNumber) ?? true)
        guard valid else {
            throw .invalid("invalid_domain", "'\(name.prefix(80))' is not a DNS name (letters, digits and hyphens, dot-separated, no IP addresses).", field: "domains")
        }
        return name
    }

    /// Whether certificate name `pattern` (possibly `*.x`) covers `domain` (one label deep, as TLS does).
    public static func covers(_ pattern: String, _ domain: String) -> Bool {
        let pattern = pattern.lowercased(), domain = domain.lowercased()
        if pattern == domain { return true }
        guard pattern.hasPrefix("*."), let dot = domain.firstIndex(of: ".") else { return false }
        return domain[domain.index(after: dot)...] == pattern.dropFirst(2) && !domain.hasPrefix("*.")
    }
}
