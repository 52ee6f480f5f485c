import Foundation
import KeywardCore
import KeywardCrypto
import KeywardTestSupport
import Testing

/// Domain names in one form (IDNA A-labels, lowercase, no trailing dot), reserved names, and the
/// addresses the HTTP check may reach. No database, no network.
@Suite struct DomainNameTests {
    @Test func unicodeAndPunycodeSpellingsOfANameAreOneName() throws {
        #expect(try DomainName.normalize("BÜCHER.example.", allowWildcard: false) == "xn--bcher-kva.example")
        #expect(try DomainName.normalize("xn--bcher-kva.example", allowWildcard: false) == "xn--bcher-kva.example")
        #expect(try DomainName.normalize("XN--BCHER-KVA.EXAMPLE.", allowWildcard: false) == "xn--bcher-kva.example")
        #expect(try DomainName.normalize("*.Bücher.example", allowWildcard: true) == "*.xn--bcher-kva.example")
        // Ideographic full stops are dots; decomposed ü is composed first.
        #expect(try DomainName.normalize("bu\u{308}cher\u{3002}example", allowWildcard: false) == "xn--bcher-kva.example")
        #expect(DomainName.display("xn--bcher-kva.example") == "bücher.example")
    }

    @Test func punycodeMatchesRFC3492AndPythonsIDNA() throws {
        // RFC 3492 §7.1 (A) Arabic (Egyptian) and (L) 3<nen>B<gumi><kinpachi><sensei>.
        let arabic =
            "\u{0644}\u{064A}\u{0647}\u{0645}\u{0627}\u{0628}\u{062A}\u{0643}\u{0644}\u{0645}\u{0648}\u{0634}\u{0639}\u{0631}\u{0628}\u{064A}\u{061F}"
        #expect(Punycode.encode(arabic) == "egbpdaj6bu4bxfgehfvwxn")
        #expect(Punycode.encode("3\u{5E74}B\u{7D44}\u{91D1}\u{516B}\u{5148}\u{751F}") == "3B-ww4c5e180e575a65lsy2b")
        #expect(Punycode.decode("egbpdaj6bu4bxfgehfvwxn") == arabic)
        let names = [
            "bücher.example", "müller.example", "παράδειγμα.δοκιμή", "例え.テスト", "straße.example", "ǅemal.example", "шоп.пример.рф", "ＳＨＯＰ.example",
        ]
        // Python's `idna` (UTS #46, IDNA 2008; installed by scripts/test) as the reference.
        let python = try Shell.run(
            "/usr/bin/env",
            ["python3", "-c", "import idna,sys\nfor n in sys.argv[1:]: print(idna.encode(n, uts46=True).decode())"] + names
        )
        let ours = try names.map { try DomainName.normalize($0, allowWildcard: false) }
        #expect(ours == python.split(separator: "\n").map(String.init), "\(ours) vs \(python)")
    }

    @Test func namesThatAreNotHostNamesAreRefused() {
        for bad in [
            "", "localhost", "192.0.2.1", "exa mple.com", "-bad.example", "bad-.example", "a..example", "shop.example/x", "🙂\u{200D}.example",
            "xn--zz.example", "xn--bcher-KVA-.example", "\u{301}abc.example", "a@b.example", String(repeating: "ü", count: 70) + ".example",
        ] {
            #expect(throws: KeywardError.self, "\(bad)") { try DomainName.normalize(bad, allowWildcard: false) }
        }
        #expect(throws: KeywardError.self) { try DomainName.normalize("*.example.com", allowWildcard: false) }
    }

    @Test func theServersOwnNamesAndTheDenyListAreReserved() throws {
        let reserved = try ReservedDomains(
            serverNames: ["API.example.com.", "127.0.0.1", "localhost"],
            denied: ["pay.example", "*.internal.example"]
        )
        #expect(reserved.serverNames == ["api.example.com"])
        #expect(reserved.reason(for: "api.example.com") != nil)
        #expect(reserved.reason(for: "*.example.com") != nil, "a wildcard covering the server's name")
        #expect(reserved.reason(for: "example.com") == nil)
        #expect(reserved.reason(for: "*.api.example.com") == nil, "covers names below the server's name, not the name")
        #expect(reserved.reason(for: "pay.example") != nil)
        #expect(reserved.reason(for: "a.internal.example") != nil)
        #expect(reserved.reason(for: "a.b.internal.example") != nil)
        #expect(reserved.reason(for: "*.internal.example") != nil)
        #expect(reserved.reason(for: "*.b.internal.example") != nil)
        #expect(reserved.reason(for: "internal.example") == nil)
        #expect(reserved.reason(for: "notinternal.example") == nil)
        #expect(throws: KeywardError.self) { try ReservedDomains(serverNames: [], denied: ["not a name"]) }
    }

    @Test func theHTTPCheckReachesPublicAddressesOnlyUnlessAllowed() throws {
        let refused = [
            "127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "224.0.0.1", "255.255.255.255",
            "::1", "::", "fe80::1", "fc00::1", "fd12::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "64:ff9b::a00:1", "2002:a00:1::1", "2001:db8::1",
            "ff02::1",
        ]
        let policy = OutboundAddressPolicy()
        for text in refused {
            #expect(!policy.permits(try #require(IPAddressBytes.parse(text))), "\(text)")
        }
        for text in ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111", "::ffff:1.1.1.1", "2002:101:101::1"] {
            #expect(policy.permits(try #require(IPAddressBytes.parse(text))), "\(text)")
        }
        let loopbackAllowed = OutboundAddressPolicy(allowedNetworks: [try IPNetwork(parsing: "127.0.0.0/8")])
        #expect(loopbackAllowed.permits([127, 0, 0, 1]))
        #expect(!loopbackAllowed.permits([10, 0, 0, 1]))
    }

    @Test func resolverAddressesParse() throws {
        #expect(try DNSServerAddress(parsing: "127.0.0.1:5353").description == "127.0.0.1:5353")
        #expect(try DNSServerAddress(parsing: "127.0.0.1").port == 53)
        #expect(try DNSServerAddress(parsing: "[::1]:53").host == "::1")
        #expect(try DNSServerAddress(parsing: "2001:db8::53").port == 53)
        for bad in ["resolver.example", "127.0.0.1:0", "127.0.0.1:99999", "[::1]x"] {
            #expect(throws: KeywardError.self, "\(bad)") { try DNSServerAddress(parsing: bad) }
        }
        let conf = FileManager.default.temporaryDirectory.appendingPathComponent("resolv-\(UUID().uuidString).conf").path
        try "# comment\nsearch example\nnameserver 192.0.2.53\nnameserver 192.0.2.54\n".write(toFile: conf, atomically: true, encoding: .utf8)
        #expect(DNSServerAddress.system(resolvConf: conf)?.description == "192.0.2.53:53")
    }
}
