import Foundation

/// A small PKI made by openssl at test time: root → intermediate → leaf (SANs), plus odd pieces.
public struct TestPKI: Sendable {
    public let keys: KeyFixtures

    public init() throws {
        keys = try KeyFixtures()
        try write("ca.ext", "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n")
        try write(
            "leaf.ext",
            "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:shop.example,DNS:www.shop.example,IP:192.0.2.7\n"
        )
        try root("root", cn: "Test Root")
        try issue("inter", cn: "Test Intermediate", by: "root", ext: "ca.ext")
        try ecKey("leaf")
        try issue("leaf", cn: "shop.example", by: "inter", ext: "leaf.ext", keyExists: true)
    }

    public func path(_ name: String) -> String { keys.path(name) }
    public func read(_ name: String) throws -> String { try keys.read(name) }
    public func bytes(_ name: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path(name)))) }
    public func write(_ name: String, _ text: String) throws { try keys.write(name, text) }

    public func ecKey(_ name: String) throws {
        try keys.openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path("\(name).key")])
    }

    public func root(_ name: String, cn: String) throws {
        try ecKey(name)
        try keys.openssl([
            "req", "-x509", "-key", path("\(name).key"), "-subj", "/CN=\(cn)", "-days", "3650", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", path("\(name).crt"),
        ])
    }

    /// A certificate for `name` (key made unless `keyExists`) issued by `issuer`'s key and certificate.
    public func issue(_ name: String, cn: String, by issuer: String, ext: String, days: Int = 90, keyExists: Bool = false) throws {
        if !keyExists { try ecKey(name) }
        try keys.openssl(["req", "-new", "-key", path("\(name).key"), "-subj", "/CN=\(cn)", "-out", path("\(name).csr")])
        try keys.openssl([
            "x509", "-req", "-in", path("\(name).csr"), "-CA", path("\(issuer).crt"), "-CAkey", path("\(issuer).key"), "-CAcreateserial",
            "-days", "\(days)", "-extfile", path(ext), "-out", path("\(name).crt"),
        ])
    }

}
