import Foundation

/// Internationalised host names in their ASCII (`xn--`) form, as DNS and TLS certificates know them.
///
/// A lighter IDNA than UTS #46: compatibility-normalise (NFKC, which folds full-width letters and digits
/// to ASCII), lowercase, treat the ideographic and full-width full stops as dots, then Punycode (RFC 3492)
/// each label that is not ASCII. The point is that one host has one spelling before it is checked,
/// resolved and connected to: `ｌｏｃａｌｈｏｓｔ` is `localhost`, `１２７.０.０.１` is 127.0.0.1.
public enum IDNA {
    /// The ASCII form of `host`, or nil when a label cannot be encoded (or holds no letter at all).
    public static func toASCII(_ host: String) -> String? {
        var text = host.precomposedStringWithCompatibilityMapping.lowercased()
        for dot in ["\u{3002}", "\u{FF0E}", "\u{FF61}"] { text = text.replacingOccurrences(of: dot, with: ".") }
        let labels = text.split(separator: ".", omittingEmptySubsequences: false).map { label -> String? in
            if label.allSatisfy(\.isASCII) { return String(label) }
            // Letters, marks, digits and hyphens only: symbols and spaces have no place in a host name.
            guard label.unicodeScalars.allSatisfy({ $0.properties.isAlphabetic || $0.properties.numericType != nil || $0 == "-"
                || $0.properties.generalCategory == .nonspacingMark || $0.properties.generalCategory == .spacingMark }) else { return nil }
            return Punycode.encode(String(label)).map { "xn--" + $0 }
        }
        guard labels.allSatisfy({ $0 != nil }) else { return nil }
        return labels.compactMap { $0 }.joined(separator: ".")
    }
}
