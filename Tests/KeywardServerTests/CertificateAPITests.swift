import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KeywardCore
import KeywardServer
import KeywardTestSupport
import Testing

/// `/v1/manage/certificates`: uploads judged as a whole, stored only when acceptable, listed with status.
@Suite(.closesStores) struct CertificateAPITests {
    static func body(type: String = "ssl", _ files: [String], passphrase: String? = nil) throws -> String {
        var object: [String: Any] = ["type": type, "files": files]
        if let passphrase { object["passphrase"] = passphrase }
        return String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
    }

    @Test func uploadsAreJudgedStoredAndListed() async throws {
        let pki = try TestPKI()
        try pki.keys.openssl(["x509", "-in", pki.path("inter.crt"), "-outform", "DER", "-out", pki.path("inter.der")])
        let clock = TestClock()
        let settings = Harness.settings()
        let services = try await Harness.services(settings)
        let tenant = try await Harness.tenant(services)
        await services.store.shutdown()
        let app = try await Harness.app(settings, clock: clock.clock)
        let secret = tenant.testKey.secret
        _ = try await app.test(.router) { client in
            // Out-of-order combined PEM plus a DER intermediate (base64): stored, reordering noted.
            let combined = try pki.read("root.crt") + pki.read("leaf.key") + pki.read("leaf.crt")
            let der = try pki.bytes("inter.der")
            let created = try await client.call(
                .post,
                "/v1/manage/certificates",
                key: secret,
                json: try Self.body([combined, Data(der).base64EncodedString()])
            )
            #expect(created.status == .created, "\(created.text)")
            #expect(created.json["names"] as? [String] == ["shop.example", "www.shop.example", "192.0.2.7"])
            #expect(created.json["status"] as? String == "valid")
            #expect(created.json["has_private_key"] as? Bool == true)
            #expect((created.json["findings"] as? [[String: Any]])?.contains { $0["code"] as? String == "chain_reordered" } == true)
            #expect(!created.text.contains("PRIVATE KEY"), "the private key never comes back")
            let id = try #require(created.json["id"] as? String)

            // Refused uploads say every reason and store nothing.
            try pki.ecKey("stranger")
            let refused = try await client.call(
                .post,
                "/v1/manage/certificates",
                key: secret,
                json: try Self.body([try pki.read("leaf.crt"), try pki.read("stranger.key")])
            )
            refused.expectProblem(.badRequest, "key_mismatch")
            #expect((refused.json["findings"] as? [[String: Any]])?.isEmpty == false)
            try await client.call(.post, "/v1/manage/certificates", key: secret, json: try Self.body(["garbage"])) {
                $0.expectProblem(.badRequest, "not_a_certificate_file")
            }
            try await client.call(.post, "/v1/manage/certificates", key: secret, json: try Self.body(type: "smime", [combined])) {
                $0.expectProblem(.badRequest, "invalid_type")
            }
            try await client.call(.post, "/v1/manage/certificates", key: secret, json: try Self.body([try pki.read("leaf.crt")])) {
                $0.expectProblem(.badRequest, "no_private_key")
            }
            let list = try await client.call(.get, "/v1/manage/certificates", key: secret)
            #expect((list.json["data"] as? [[String: Any]])?.count == 1)

            // Status follows the clock: 90-day certificate → expiring, critical, expired.
            for (days, status) in [(70.0, "expiring"), (80.0, "critical"), (91.0, "expired")] {
                clock.advance(days * 86400 - (clock.clock.now().timeIntervalSinceNow.rounded()))
                let one = try await client.call(.get, "/v1/manage/certificates/\(id)", key: secret)
                #expect(one.json["status"] as? String == status, "after \(days) days: \(one.text)")
                #expect((one.json["certificate_pem"] as? String)?.hasPrefix("-----BEGIN CERTIFICATE-----") == true)
            }
            try await client.call(.get, "/v1/manage/certificates?expiring=10", key: secret) { #expect(($0.json["data"] as? [Any])?.count == 1) }
            try await client.call(.get, "/v1/manage/certificates/\(id)", key: tenant.liveKey.secret) {
                $0.expectProblem(.notFound, "resource_missing")
            }
            // 50 MB is refused before it is read in full; a key alone is not a certificate.
            let huge = #"{"type": "ssl", "files": [""# + String(repeating: "A", count: 50 * 1024 * 1024) + #""]}"#
            try await client.call(.post, "/v1/manage/certificates", key: secret, json: huge) { $0.expectProblem(.contentTooLarge, "body_too_large") }
            try await client.call(.post, "/v1/manage/certificates", key: secret, json: try Self.body([try pki.read("leaf.key")])) {
                $0.expectProblem(.badRequest, "no_certificate")
            }
        }
    }
}
