import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KeywardCore
import KeywardServer
import KeywardTestSupport
import Testing

/// Hostile multipart bodies posted to the cabinet's certificate upload by a signed-in member: each is a
/// 400 with the reason, never a 500, a crash or a certificate stored from half a form.
@Suite(.closesStores) struct CabinetUploadLimitTests {
    static let boundary = "----KeywardHostile"

    static func body(_ csrf: String, _ rest: String) -> [UInt8] {
        Array(
            "--\(boundary)\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n\(csrf)\r\n--\(boundary)\r\nContent-Disposition: form-data; name=\"mode\"\r\n\r\ntest\r\n\(rest)"
                .utf8
        )
    }

    @Test func hostileUploadsAreRefusedWithTheReason() async throws {
        let settings = try Harness.isolatedSettings()
        let services = try await Harness.services(settings)
        let app = try await Harness.app(settings)
        _ = try await app.test(.router) { client in
            let (browser, csrf, merchant) = try await CabinetCertificateFlowsTests.signedInDeveloper(services, client)
            let file = "--\(Self.boundary)\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.crt\"\r\n"
            let manyParts = (0..<3000).map { "--\(Self.boundary)\r\nContent-Disposition: form-data; name=\"f\($0)\"\r\n\r\nx\r\n" }.joined()
            let cases: [(what: String, contentType: String, body: [UInt8], reason: String)] = [
                ("no boundary", "multipart/form-data", Self.body(csrf, "--\(Self.boundary)--\r\n"), "boundary"),
                (
                    "unterminated part", "multipart/form-data; boundary=\(Self.boundary)",
                    Self.body(csrf, file + "\r\n-----BEGIN CERTIFICATE-----\r\n"), "could not be read"
                ),
                (
                    "huge header", "multipart/form-data; boundary=\(Self.boundary)",
                    Self.body(csrf, file + "X-Padding: \(String(repeating: "a", count: 200 * 1024))\r\n\r\nx\r\n--\(Self.boundary)--\r\n"), "header"
                ),
                (
                    "thousands of parts", "multipart/form-data; boundary=\(Self.boundary)", Self.body(csrf, manyParts + "--\(Self.boundary)--\r\n"),
                    "too many parts"
                ),
            ]
            for hostile in cases {
                var headers: HTTPFields = [.contentType: hostile.contentType]
                headers[.cookie] = browser.cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; ")
                let response = try await client.execute(
                    uri: "/cabinet/certificates",
                    method: .post,
                    headers: headers,
                    body: ByteBuffer(bytes: hostile.body)
                ) { $0 }
                #expect(response.status == .badRequest, "\(hostile.what): \(response.status)")
                #expect(String(buffer: response.body).contains(hostile.reason), "\(hostile.what): \(String(buffer: response.body).prefix(500))")
            }
            #expect(try await services.certificates.list(merchantID: merchant.id, mode: .test, limit: 10).isEmpty)
        }
    }
}
