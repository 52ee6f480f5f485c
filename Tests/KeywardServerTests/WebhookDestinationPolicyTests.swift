import KeywardCore
import KeywardCrypto
import KeywardServer
import Testing

/// The webhook destination policy on its own: URL shapes, every spelling of an address, every range
/// that is not public, names judged by all their addresses. No connection is made here.
@Suite struct WebhookDestinationPolicyTests {
    static let strict = WebhookDestinationPolicy(resolver: .fixed([:]))

    @Test(arguments: [
        ("2130706433", "127.0.0.1"), ("0177.0.0.1", "127.0.0.1"), ("0x7f.1", "127.0.0.1"), ("127.1", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"), ("017700000001", "127.0.0.1"), ("0X7F.0.0.0x1", "127.0.0.1"), ("127.0.1", "127.0.0.1"),
        ("10.1", "10.0.0.1"), ("0", "0.0.0.0"), ("0xa9fea9fe", "169.254.169.254"), ("169.254.43518", "169.254.169.254"),
        ("8.8.8.8", "8.8.8.8"), ("0x", "0.0.0.0"),
    ])
    func ipv4SpellingsAreTheAddressesResolversRead(spelling: String, address: String) throws {
        #expect(LenientIPv4.parse(spelling) == IPAddressBytes.parse(address))
    }

    @Test(arguments: ["256.0.0.1", "0x100.1", "1.2.3.4.5", "4294967296", "08.0.0.1", "1..2", "", "1.2.3.", "+1.2.3.4", "1.0x1g", "1.16777216"])
    func notIPv4(spelling: String) {
        #expect(LenientIPv4.parse(spelling) == nil)
    }

    /// The first and last address of every refused block, and the neighbours just outside that are public.
    @Test(arguments: [
        "0.0.0.0", "0.255.255.255", "10.0.0.0", "10.255.255.255", "100.64.0.0", "100.127.255.255", "127.0.0.1", "127.255.255.254",
        "169.254.0.0", "169.254.169.254", "169.254.255.255", "172.16.0.0", "172.31.255.255", "192.0.0.0", "192.0.0.255", "192.0.2.1",
        "192.88.99.1", "192.168.0.0", "192.168.255.255", "198.18.0.0", "198.19.255.255", "198.51.100.7", "203.0.113.9", "224.0.0.1",
        "239.255.255.255", "240.0.0.1", "255.255.255.254", "255.255.255.255",
        "::", "::1", "::127.0.0.1", "::10.0.0.1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "64:ff9b::10.0.0.1",
        "64:ff9b::127.0.0.1", "64:ff9b:1::1", "2002:7f00:1::", "2002:a00:1::1", "2002:a9fe:a9fe::", "100::1", "100:0:0:1::1", "2001::1",
        "2001:2::1", "2001:db8::1", "3fff::1", "5f00::1", "fc00::1", "fd12:3456::1", "fe80::1", "febf::1", "fec0::1", "ff02::1", "ff0e::1",
        "::ffff:0:7f00:1", "1::1", "4000::1", "e000::1",
    ])
    func nonPublicAddressesAreRefused(address: String) throws {
        let bytes = try #require(IPAddressBytes.parse(address))
        #expect(Self.strict.refusal(for: bytes) != nil, "\(address) must be refused")
    }

    @Test(arguments: [
        "8.8.8.8", "1.1.1.1", "9.255.255.255", "11.0.0.0", "100.63.255.255", "100.128.0.0", "126.255.255.255", "128.0.0.0",
        "169.253.255.255", "169.255.0.0", "172.15.255.255", "172.32.0.0", "192.0.1.0", "192.167.255.255", "192.169.0.0",
        "198.17.255.255", "198.20.0.0", "223.255.255.255",
        "2606:4700:4700::1111", "2001:4860:4860::8888", "2a00:1450:4001::1", "::ffff:8.8.8.8", "64:ff9b::8.8.8.8", "2002:808:808::1",
    ])
    func publicAddressesPass(address: String) throws {
        let bytes = try #require(IPAddressBytes.parse(address))
        #expect(Self.strict.refusal(for: bytes) == nil, "\(address) is public")
    }

    @Test func theOperatorsNetworksAllowWhatTheyCoverAndNothingElse() throws {
        let policy = WebhookDestinationPolicy(
            allowedNetworks: [try IPNetwork(parsing: "127.0.0.0/8"), try IPNetwork(parsing: "::1/128")],
            resolver: .fixed([:])
        )
        for allowed in ["127.0.0.1", "127.9.9.9", "::1", "::ffff:127.0.0.1", "64:ff9b::127.0.0.1"] {
            #expect(policy.refusal(for: try #require(IPAddressBytes.parse(allowed))) == nil, "\(allowed)")
        }
        for refused in ["10.0.0.1", "169.254.169.254", "::", "0.0.0.0", "fe80::1"] {
            #expect(policy.refusal(for: try #require(IPAddressBytes.parse(refused))) != nil, "\(refused)")
        }
    }

    @Test func aNameIsJudgedByEveryAddressItHas() async throws {
        let policy = WebhookDestinationPolicy(
            resolver: .fixed([
                "public.hooks.example": ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
                "mixed.hooks.example": ["93.184.215.14", "10.0.0.1"],
                "mixed6.hooks.example": ["2606:2800:21f:cb07:6820:80da:af6b:8b2c", "fd00::1"],
                "metadata.hooks.example": ["169.254.169.254"],
            ])
        )
        let checked = try await policy.check("https://public.hooks.example/in")
        #expect(checked.addresses.count == 2 && checked.connectAddress == "93.184.215.14")
        for name in ["mixed.hooks.example", "mixed6.hooks.example", "metadata.hooks.example", "localhost", "api.localhost", "LOCALHOST."] {
            await #expect { try await policy.check("https://\(name)/in") } throws: {
                ($0 as? KeywardError)?.code.rawValue == "webhook_destination_forbidden"
            }
        }
        await #expect { try await policy.check("https://nowhere.hooks.example/in") } throws: {
            ($0 as? KeywardError)?.code.rawValue == "webhook_host_unresolvable"
        }
        // A resolver that fails says so with the same code, never with a 500.
        let failing = WebhookDestinationPolicy(resolver: WebhookNameResolver { _ in throw WebhookNameResolver.LookupFailed(temporary: true) })
        await #expect { try await failing.check("https://public.hooks.example/in") } throws: {
            ($0 as? KeywardError)?.code.rawValue == "webhook_host_unresolvable"
        }
    }

    @Test(arguments: [
        "ftp://hooks.example/x", "javascript:alert(1)", "https://user:pw@hooks.example/", "https://user@hooks.example/", "https://hooks.example:0/",
        "https://hooks.example:65536/", "https://hooks.example:/", "https://hooks.example:8o/", "https://:443/", "https:///x",
        "https://hooks.example/#frag",
        "https://[::1%25eth0]/", "https://ho st.example/", "https://hooks.example\\@evil.example/", "https://256.1.1.1/", "https://1.2.3.08/",
        "https://exa_mple.com/", "https://-bad.example/", "https://[::1/", "https://[::1]x/", "https://[127.0.0.1]/", "https://127.0.0.%31/",
        "https://hooks.example/\u{0}", "https://hooks.example/ä", "https://a..b/", "https://" + String(repeating: "a", count: 64) + ".example/",
    ])
    func malformedURLsAreRefused(url: String) {
        #expect { try WebhookDestinationPolicy.parse(url) } throws: { ($0 as? KeywardError)?.code.rawValue == "invalid_url" }
    }

    @Test func hostsHaveOneSpelling() throws {
        let plain = try WebhookDestinationPolicy.parse("HTTPS://Hooks.EXAMPLE.:8443/in?x=1")
        #expect(plain.hostText == "hooks.example" && plain.port == 8443 && plain.url == "https://hooks.example:8443/in?x=1")
        #expect(try WebhookDestinationPolicy.parse("http://hooks.example").url == "http://hooks.example/")
        #expect(try WebhookDestinationPolicy.parse("https://bücher.example/").hostText == "xn--bcher-kva.example")
        #expect(try WebhookDestinationPolicy.parse("https://münchen.example/").hostText == "xn--mnchen-3ya.example")
        // Full-width letters and digits fold to ASCII before anything is checked.
        #expect(try WebhookDestinationPolicy.parse("https://ｌｏｃａｌｈｏｓｔ/").host == .name("localhost"))
        #expect(try WebhookDestinationPolicy.parse("http://１２７。０。０。１/").host == .address([127, 0, 0, 1]))
        #expect(try WebhookDestinationPolicy.parse("http://0x7f.1:8080/x").url == "http://127.0.0.1:8080/x")
        #expect(try WebhookDestinationPolicy.parse("http://[::FFFF:127.0.0.1]/").url == "http://[::ffff:7f00:1]/")
    }

    @Test func theSystemResolverReadsTheHostsFile() async throws {
        // localhost is in every hosts file, so this asks no DNS server.
        let addresses = try await WebhookNameResolver.system.resolve("localhost")
        #expect(addresses.contains([127, 0, 0, 1]))
    }

    @Test func theSettingIsReadFromFlagsEnvironmentAndFile() throws {
        let fromEnvironment = try Settings.resolve(flags: [:], environment: ["KEYWARD_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8, ::1/128"])
        #expect(fromEnvironment.webhookAllowedNetworks.map(\.description) == ["127.0.0.0/8", "::1/128"])
        let fromFlag = try Settings.resolve(
            flags: ["webhook_allowed_networks": "10.1.0.0/16"],
            environment: ["KEYWARD_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8"]
        )
        #expect(fromFlag.webhookAllowedNetworks.map(\.description) == ["10.1.0.0/16"])
        #expect(try Settings.resolve(flags: [:], environment: [:]).webhookAllowedNetworks.isEmpty, "public addresses only by default")
        #expect(Settings.names.contains("webhook_allowed_networks"))
        #expect { try Settings.resolve(flags: [:], environment: ["KEYWARD_WEBHOOK_ALLOWED_NETWORKS": "loopback"]) } throws: {
            "\($0)".contains("webhook_allowed_networks")
        }
    }
}
