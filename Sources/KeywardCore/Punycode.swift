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

/// RFC 3492 Punycode encoding (the encoder only: hosts arrive as Unicode or already in xn-- form).
enum Punycode {
    static let base = 36, tMin = 1, tMax = 26, skew = 38, damp = 700, initialBias = 72, initialN = 0x80

    static func encode(_ input: String) -> String? {
        let scalars = input.unicodeScalars.map { Int($0.value) }
        var output = scalars.filter { $0 < 0x80 }.compactMap { Unicode.Scalar($0).map(Character.init) }
        let basicCount = output.count
        if basicCount > 0 { output.append("-") }
        var n = initialN, delta = 0, bias = initialBias, handled = basicCount
        while handled < scalars.count {
            guard let next = scalars.filter({ $0 >= n }).min() else { return nil }
            let (product, overflow) = (next - n).multipliedReportingOverflow(by: handled + 1)
            guard !overflow, delta <= Int(Int32.max) - product else { return nil }
            delta += product
            n = next
            for scalar in scalars {
                if scalar < n { delta += 1 }
                guard scalar == n else { continue }
                var q = delta, k = base
                while true {
                    let t = k <= bias ? tMin : k >= bias + tMax ? tMax : k - bias
                    if q < t { break }
                    output.append(digit(t + (q - t) % (base - t)))
                    q = (q - t) / (base - t)
                    k += base
                }
                output.append(digit(q))
                bias = adapt(delta, handled + 1, handled == basicCount)
                delta = 0
                handled += 1
            }
            delta += 1
            n += 1
        }
        return String(output)
    }

    static func digit(_ value: Int) -> Character {
        Character(Unicode.Scalar(UInt8(value < 26 ? value + 97 : value + 22)))
    }

    static func adapt(_ delta: Int, _ count: Int, _ first: Bool) -> Int {
        var delta = first ? delta / damp : delta / 2
        delta += delta / count
        var k = 0
        while delta > ((base - tMin) * tMax) / 2 {
            delta /= base - tMin
            k += base
        }
        return k + (base - tMin + 1) * delta / (delta + skew)
    }
}
