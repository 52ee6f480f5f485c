import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KeywardCore
import KeywardServer
import KeywardTestSupport
import Testing

/// Apple Pay certificates: Keyward makes the key Apple requires and the CSR; the certificate "Apple"
/// (an openssl CA here) signs from that CSR comes back as a DER `.cer` and is accepted for that key only.
@Suite(.closesStores) struct ApplePayTests {
    @Test(arguments: [("apple_pay_merchant_identity", "RSA 2048", "rsaEncryption"), ("apple_pay_payment_processing", "EC P-256", "prime256v1")])
    func aCSRIsMadeWithTheRightKeyAndApplesCertificateIsAcceptedForItOnly(type: String, keyType: String, opensslName: String) async throws {
        let pki = try TestPKI()
        let (app, tenant) = try await Harness.appWithTenant()
        let secret = tenant.liveKey.secret
        _ = try await app.test(.router) { client in
            let created = try await client.call(
                .post,
                "/v1/manage/apple-pay/certificate-requests",
                key: secret,
                json: #"{"type": "\#(type)", "name": "merchant.com.shop"}"#
            )
            #expect(created.status == .created, "\(created.text)")
            #expect(created.json["key_type"] as? String == keyType)
            #expect(!created.text.contains("PRIVATE KEY"))
            let id = try #require(created.json["id"] as? String)
            let csr = try #require(created.json["csr_pem"] as? String)
            try pki.write("apple.csr", csr)
            // openssl checks the CSR's signature and reads the key Apple requires.
            let text = try pki.keys.openssl(["req", "-in", pki.path("apple.csr"), "-verify", "-noout", "-text"])
            #expect(text.contains(opensslName) && (text.contains("CN=merchant.com.shop") || text.contains("CN = merchant.com.shop")))

            // "Apple" signs it; the .cer comes back as DER.
            try pki.write("apple.ext", "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n")
            try pki.keys.openssl([
                "x509", "-req", "-in", pki.path("apple.csr"), "-CA", pki.path("inter.crt"), "-CAkey", pki.path("inter.key"), "-CAcreateserial",
                "-days", "825", "-extfile", pki.path("apple.ext"), "-outform", "DER", "-out", pki.path("apple.cer"),
            ])
            let cer = Data(try pki.bytes("apple.cer")).base64EncodedString()

            // A certificate for another key is refused.
            try pki.keys.openssl(["x509", "-in", pki.path("leaf.crt"), "-outform", "DER", "-out", pki.path("other.cer")])
            try await client.call(
                .post,
                "/v1/manage/apple-pay/certificate-requests/\(id)/certificate",
                key: secret,
                json: #"{"certificate": "\#(Data(try pki.bytes("other.cer")).base64EncodedString())"}"#
            ) {
                $0.expectProblem(.badRequest, "certificate_not_for_this_request")
            }
            try await client.call(.post, "/v1/manage/apple-pay/certificate-requests/\(id)/certificate", key: secret, json: #"{"certificate": "%%%"}"#)
            {
                $0.expectProblem(.badRequest, "not_a_certificate_file")
            }
            let stored = try await client.call(
                .post,
                "/v1/manage/apple-pay/certificate-requests/\(id)/certificate",
                key: secret,
                json: #"{"certificate": "\#(cer)"}"#
            )
            #expect(stored.status == .created, "\(stored.text)")
            #expect(stored.json["type"] as? String == type)
            #expect(stored.json["has_private_key"] as? Bool == true)
            #expect(stored.json["key_type"] as? String == keyType)
            try await client.call(
                .post,
                "/v1/manage/apple-pay/certificate-requests/\(id)/certificate",
                key: secret,
                json: #"{"certificate": "\#(cer)"}"#
            ) {
                $0.expectProblem(.conflict, "request_completed")
            }
            let request = try await client.call(.get, "/v1/manage/apple-pay/certificate-requests/\(id)", key: secret)
            #expect(request.json["certificate_id"] as? String == stored.json["id"] as? String)
            // Another mode's key does not see the request.
            try await client.call(.get, "/v1/manage/apple-pay/certificate-requests/\(id)", key: tenant.testKey.secret) {
                $0.expectProblem(.notFound, "resource_missing")
            }
        }
    }

    @Test func onlyApplePayTypesGetACSR() async throws {
        let (app, tenant) = try await Harness.appWithTenant()
        _ = try await app.test(.router) { client in
            try await client.call(
                .post,
                "/v1/manage/apple-pay/certificate-requests",
                key: tenant.liveKey.secret,
                json: #"{"type": "ssl", "name": "x"}"#
            ) {
                $0.expectProblem(.badRequest, "invalid_type")
            }
            try await client.call(
                .post,
                "/v1/manage/apple-pay/certificate-requests",
                key: tenant.liveKey.secret,
                json: #"{"type": "apple_pay_merchant_identity", "name": ""}"#
            ) {
                $0.expectProblem(.badRequest, "invalid_field")
            }
        }
    }
}
