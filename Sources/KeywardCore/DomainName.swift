import Foundation

/// DNS names as channels and certificates use them: lowercase LDH labels, at most 253 characters, at
/// least two labels; a leading `*.` only where wildcards make sense (an uploaded certificate, never an
/// HTTP-01 order, which cannot prove a wildcard).
///
/// Every name is compared in one form: IDNA A-labels (`BÜCHER.example.` → `xn--bcher-kva.example`),
/// lowercase, without a trailing dot, so two spellings of a name can never be two claims.
public enum DomainName {
    public static func normalize(_ value: String, allowWildcard: Bool) throws(KeywardError) -> String {
        let shown = value.prefix(80)
        guard value.utf8.count <= 1024 else {
            throw .invalid(.invalidDomain, "'\(shown)…' is not a DNS name (too long).", field: "domains")
        }
        // IDNA's other full stops are dots; then UTS #46's mapping in brief.
        let dotted = String(String.UnicodeScalarView(value.trimmingCharacters(in: .whitespaces).unicodeScalars.map {
            [0x3002, 0xFF0E, 0xFF61].contains($0.value) ? "." : $0
        }))
        var name = mapped(dotted)
        if name.hasSuffix(".") { name.removeLast() }
        var wildcard = false
        var rest = Substring(name)
        if rest.hasPrefix("*.") {
            guard allowWildcard else {
                throw .invalid(.wildcardNotAllowed, "'\(shown)' is a wildcard; a managed (ACME HTTP-01) channel needs each name spelled out.", field: "domains")
            }
            wildcard = true
            rest = rest.dropFirst(2)
        }
        let invalid = KeywardError.invalid(.invalidDomain, "'\(shown)' is not a DNS name (letters, digits and hyphens, dot-separated, no IP addresses).", field: "domains")
        var labels: [String] = []
        for label in rest.split(separator: ".", omittingEmptySubsequences: false) {
            guard let ascii = asciiLabel(label) else { throw invalid }
            labels.append(ascii)
        }
        let encoded = (wildcard ? "*." : "") + labels.joined(separator: ".")
        let valid = encoded.utf8.count <= 253 && labels.count >= 2 && labels.allSatisfy { label in
            (1...63).contains(label.utf8.count) && label.first != "-" && label.last != "-"
                && label.utf8.allSatisfy { c in c == UInt8(ascii: "-") || (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7a) }
        } && !(labels.last?.allSatisfy(\.isNumber) ?? true)
        guard valid else { throw invalid }
        return encoded
    }

    /// UTS #46's mapping, near enough for names people type: compatibility forms composed (full-width
    /// letters, `ǅ` → `dž`) and lowercased, keeping `ß` and `ς` as IDNA 2008 does (no case folding).
    static func mapped(_ text: String) -> String {
        text.precomposedStringWithCompatibilityMapping.lowercased().precomposedStringWithCompatibilityMapping
    }

    /// One label as an A-label: ASCII labels as they are (an `xn--` one only when it is valid Punycode
    /// of a name that needs it, in its one canonical spelling), others Punycode-encoded. Nil when the
    /// label holds what no host name may (spaces, symbols, controls, a leading combining mark).
    static func asciiLabel(_ label: Substring) -> String? {
        if label.utf8.allSatisfy({ $0 < 0x80 }) {
            guard label.hasPrefix("xn--") else { return String(label) }
            guard let decoded = Punycode.decode(label.dropFirst(4)), decoded.contains(where: { !$0.isASCII }) else { return nil }
            let unicode = String(String.UnicodeScalarView(decoded))
            guard unicode == mapped(unicode), asciiLabel(Substring(unicode)) == String(label) else { return nil }
            return String(label)
        }
        let scalars = Array(label.unicodeScalars)
        guard let first = scalars.first, !first.properties.generalCategory.isMark else { return nil }
        let allowed = scalars.allSatisfy { scalar in
            if scalar.isASCII {
                return scalar == "-" || ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar)
            }
            return scalar.properties.generalCategory.isLetterMarkOrNumber
        }
        guard allowed, let encoded = Punycode.encode(scalars) else { return nil }
        return "xn--" + encoded
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
        let pattern = pattern.lowercased(), domain = domain.lowercased()
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

extension Unicode.GeneralCategory {
    var isMark: Bool { self == .nonspacingMark || self == .spacingMark || self == .enclosingMark }

    var isLetterMarkOrNumber: Bool {
        switch self {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
             .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .letterNumber, .otherNumber: true
        default: false
        }
    }
}
