import Foundation
import KeywardCore
import Testing

/// One IDNA for every host name: a name a sales channel claims (`DomainName.normalize`) and the host a
/// webhook is sent to (`WebhookDestinationPolicy.parse`, through `IDNA.toASCII`) are read the same way,
/// so no spelling is a valid name in one place and another name, or no name, in the other.
@Suite struct IDNAAgreementTests {
    /// Hostile and Unicode spellings. Every one has at least two labels and a non-numeric top label, so
    /// the callers' own policies (channels need two labels; webhooks also take IP addresses) do not apply.
    static var inputs: [String] {
        let decomposed = Punycode.encode("bu\u{308}cher").map { "xn--\($0).example" } ?? "xn--invalid.example"
        let emoji = Punycode.encode("\u{1F4A9}").map { "xn--\($0).example" } ?? "xn--invalid.example"
        let asciiOnly = Punycode.encode("abc").map { "xn--\($0).example" } ?? "xn--invalid.example"
        return [
            // Case, trailing dot, other full stops, full-width letters.
            "EXAMPLE.COM", "example.com.", "Bücher.Example", "BÜCHER.example.", "shop\u{3002}example", "shop\u{FF0E}example", "ｓｈｏｐ.example",
            // A-labels: canonical, upper-case, invalid Punycode, Punycode of ASCII only, of a decomposed name, of a symbol.
            "xn--bcher-kva.example", "XN--BCHER-KVA.example", "xn--.example", "xn--zz-.example", "xn--a.example", asciiOnly, decomposed, emoji,
            // Marks, symbols, spaces, underscores.
            "\u{0301}a.example", "a\u{0301}.example", "bu\u{308}cher.example", "€uro.example", "a b.example", "ex_ample.com", "☃.example",
            // Empty labels.
            "a..example", ".example", "example..", "-a.example", "a-.example",
            // Over-long labels and names.
            String(repeating: "a", count: 63) + ".example", String(repeating: "a", count: 64) + ".example",
            String(repeating: "ü", count: 60) + ".example", String(repeating: "abcdefghi.", count: 25) + "example",
            String(repeating: "abcdefghi.", count: 26) + "example",
            // Mixed scripts and homographs (IDNA does not forbid them: both read them the same way).
            "аpple.com", "pаypal.com", "раураl.com", "straße.example", "ǅemal.example", "İstanbul.example", "Ⅻ.example", "ⓐbc.example",
            "παράδειγμα.δοκιμή", "例え.テスト", "шоп.пример.рф",
        ]
    }

    static func webhookHost(_ name: String) -> String? {
        guard let destination = try? WebhookDestinationPolicy.parse("https://\(name)/hook"), case .name(let host) = destination.host else {
            return nil
        }
        return host
    }

    @Test func channelNamesAndWebhookHostsAreReadTheSameWay() {
        var disagreements: [String] = []
        for input in Self.inputs {
            let channel = try? DomainName.normalize(input, allowWildcard: false)
            let webhook = Self.webhookHost(input)
            if channel != webhook {
                disagreements.append("\(input.debugDescription): channel \(channel ?? "refused"), webhook \(webhook ?? "refused")")
            }
        }
        #expect(disagreements.isEmpty, "\(disagreements.joined(separator: "\n"))")
    }

    @Test func idnaRefusesWhatNoHostNameHolds() {
        #expect(IDNA.toASCII("Bücher.example.") == "xn--bcher-kva.example.")
        #expect(IDNA.toASCII("ｌｏｃａｌｈｏｓｔ") == "localhost")
        #expect(IDNA.toASCII("\u{0301}a.example") == nil, "a label starting with a combining mark")
        #expect(IDNA.toASCII("xn--zz-.example") == nil, "an xn-- label that is not Punycode")
        #expect(IDNA.toASCII("xn--bcher-kva.example") == "xn--bcher-kva.example")
    }
}
