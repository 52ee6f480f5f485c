import Foundation

/// Internationalised host names in their ASCII (`xn--`) form, as DNS and TLS certificates know them: the
/// one IDNA of Keyward. Sales channel names (`DomainName.normalize`) and webhook hosts
/// (`WebhookDestinationPolicy.parse`) both read names through it, so a spelling is never one name in one
/// place and another name (or none) in the other.
///
/// A lighter IDNA than UTS #46: the ideographic and full-width full stops are dots; compatibility forms
/// are composed (NFKC folds full-width letters and digits to ASCII: `ｌｏｃａｌｈｏｓｔ` is `localhost`) and
/// lowercased, keeping `ß` and `ς` as IDNA 2008 does; each label that is not ASCII is Punycode-encoded
/// (RFC 3492). An `xn--` label is kept only when it is the one canonical A-label of a name that needs
/// one (valid Punycode of a non-ASCII label that maps to itself). Labels holding what no host name may
/// (spaces, symbols, controls, a leading combining mark) make the whole name invalid. Length and LDH
/// rules are the callers' (a webhook host may be an IP address, a channel name may not).
public enum IDNA {
    /// The full stops IDNA reads as `.` (ideographic, full-width, half-width ideographic).
    static let fullStops: Set<UInt32> = [0x3002, 0xFF0E, 0xFF61]

    /// The ASCII form of `host` (empty labels and a trailing dot kept as they are), or nil when a label
    /// cannot be a host name's.
    public static func toASCII(_ host: String) -> String? {
        var labels: [String] = []
        for label in mapped(dotted(host)).split(separator: ".", omittingEmptySubsequences: false) {
            guard let ascii = asciiLabel(label) else { return nil }
            labels.append(ascii)
        }
        return labels.joined(separator: ".")
    }

    /// `text` with IDNA's other full stops turned into dots.
    static func dotted(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.map { fullStops.contains($0.value) ? "." : $0 }))
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
}

extension Unicode.GeneralCategory {
    var isMark: Bool { self == .nonspacingMark || self == .spacingMark || self == .enclosingMark }

    var isLetterMarkOrNumber: Bool {
        switch self {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
            .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .letterNumber, .otherNumber:
            true
        default: false
        }
    }
}
