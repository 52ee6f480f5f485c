import Foundation
import KeywardCrypto
import KeywardTestSupport
import Testing
import X509

@Suite struct LocalCertificateAuthorityTests {
    @Test func issuedServerCertificateVerifiesWithOpenSSL() throws {
        let ca = try LocalCertificateAuthority.create()
        let issued = try ca.issueServerCertificate(hostnames: ["localhost", "127.0.0.1", "::1", "shop.example"])
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kw-ca-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let caFile = directory.appendingPathComponent("ca.pem").path
        let leafFile = directory.appendingPathComponent("leaf.pem").path
        try Data(try ca.certificatePEM.utf8).write(to: URL(fileURLWithPath: caFile))
        try Data(try issued.certificate.serializeAsPEM().pemString.utf8).write(to: URL(fileURLWithPath: leafFile))

        for host in ["localhost", "shop.example"] {
            let output = try Shell.run(
                "/usr/bin/openssl",
                ["verify", "-CAfile", caFile, "-purpose", "sslserver", "-verify_hostname", host, leafFile]
            )
            #expect(output.hasSuffix("OK"))
        }
        let output = try Shell.run("/usr/bin/openssl", ["verify", "-CAfile", caFile, "-verify_ip", "127.0.0.1", leafFile])
        #expect(output.hasSuffix("OK"))
        #expect(throws: (any Error).self) {
            try Shell.run("/usr/bin/openssl", ["verify", "-CAfile", caFile, "-verify_hostname", "evil.example", leafFile])
        }
    }

    @Test func restoresFromPEMAndRefusesAMismatchedKey() throws {
        let ca = try LocalCertificateAuthority.create()
        let restored = try LocalCertificateAuthority(certificatePEM: try ca.certificatePEM, privateKeyPEM: ca.privateKeyPEM)
        #expect(restored.certificate == ca.certificate)
        let other = try LocalCertificateAuthority.create()
        #expect(throws: CertificateAuthorityError.self) {
            try LocalCertificateAuthority(certificatePEM: try ca.certificatePEM, privateKeyPEM: other.privateKeyPEM)
        }
    }

    @Test func refusesHostnamesThatAreNotNames() {
        let ca = try? LocalCertificateAuthority.create()
        #expect(throws: CertificateAuthorityError.self) { try ca?.issueServerCertificate(hostnames: ["bad host/name"]) }
    }

    @Test(arguments: [
        ("127.0.0.1", [UInt8]([127, 0, 0, 1])), ("::1", [UInt8](repeating: 0, count: 15) + [1]),
        ("2001:db8::ff00:42:8329", [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0xff, 0, 0, 0x42, 0x83, 0x29]),
        ("::ffff:10.1.2.3", [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 2, 3]),
    ])
    func parsesAddresses(text: String, bytes: [UInt8]) {
        #expect(IPAddressBytes.parse(text) == bytes)
    }

    @Test(arguments: ["256.1.1.1", "1.2.3", "01.2.3.4", "1::2::3", "12345::", "localhost", "", "1.2.3.4.5"])
    func refusesNonAddresses(text: String) {
        #expect(IPAddressBytes.parse(text) == nil)
    }
}
