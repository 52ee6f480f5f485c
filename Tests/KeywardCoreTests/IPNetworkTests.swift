import KeywardCore
import Testing

@Suite struct IPNetworkTests {
    @Test(arguments: [
        ("203.0.113.0/24", "203.0.113.77", true), ("203.0.113.0/24", "203.0.114.1", false),
        ("10.0.0.1", "10.0.0.1", true), ("10.0.0.1", "10.0.0.2", false), ("0.0.0.0/0", "8.8.8.8", true),
        ("2001:db8::/32", "2001:db8:1::5", true), ("2001:db8::/32", "2001:db9::5", false),
        ("127.0.0.0/8", "::ffff:127.0.0.1", true), ("::1/128", "127.0.0.1", false), ("10.0.0.0/8", "::1", false),
        ("10.1.2.3/8", "10.200.0.1", true),
    ])
    func membership(network: String, address: String, inside: Bool) throws {
        #expect(try IPNetwork(parsing: network).contains(address: address) == inside)
    }

    @Test func normalisesAndPrintsCompressed() throws {
        #expect(try IPNetwork(parsing: "10.1.2.3/8").description == "10.0.0.0/8")
        #expect(try IPNetwork(parsing: "2001:db8:0:0:1:0:0:1").description == "2001:db8::1:0:0:1/128")
        #expect(try IPNetwork(parsing: "::/0").description == "::/0")
        #expect(try IPNetwork(parsing: "fe80::1:2/64").description == "fe80::/64")
    }

    @Test(arguments: ["", "10.0.0.0/33", "10.0.0.0/-1", "1.2.3.4/", "/8", "::1/129", "10.0.0.0/8/8", "abc", "10.0.0.0/ 8"])
    func rejects(text: String) {
        #expect(throws: KeywardError.self) { try IPNetwork(parsing: text) }
    }
}
