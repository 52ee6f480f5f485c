import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KeywardClient
import KeywardCore
import KeywardCrypto
import KeywardServer
import KeywardTestSupport
import Logging
import Testing

/// KeywardClient against the Keyward server (in-process), and against foreign peers: the Python
/// provider peer, `openssl dgst`, and Python's `http-message-signatures`.
@Suite struct ClientTests {
    struct World {
        let settings: Settings
        let secret: String
        let myPOS: StoreInfo
        let aliKassa: StoreInfo
        let platformCertificate: String
        let signingKeyID: String
    }

    static var logger: Logger {
        var logger = Logger(label: "keyward-client-test")
        logger.logLevel = .warning
        return logger
    }

    /// A server database with a merchant, a test secret key, a myPOS and an AliKassa store keyed by
    /// `keys`' "merchant" RSA key, and an Ed25519 signing key.
    static func world(_ keys: KeyFixtures) async throws -> World {
        var settings = Settings()
        settings.dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("keyward-client-\(UUID().uuidString)").path
        settings.httpsPort = 0
        settings.httpPort = 0
        settings.logLevel = "warning"
        let services = try await KeywardServices.open(settings: settings, logger: logger)
        do {
            let merchant = try await services.merchants.create(name: "Client test")
            let secret = try await services.secretKeys.create(merchantID: merchant.id, mode: .test, options: .init(name: "t"), by: .platformOperator)
            let myPOS = try await services.stores.create(merchantID: merchant.id, mode: .test, NewStore(name: "shop", dialect: .mypos))
            let added = try await services.stores.addKeys(
                merchantID: merchant.id,
                mode: .test,
                storeID: myPOS.id,
                pem: try keys.read("merchant.crt"),
                limits: RequestedLimits(),
                by: .platformOperator
            )
            let aliKassa = try await services.stores.create(merchantID: merchant.id, mode: .test, NewStore(name: "kiosk", dialect: .alikassa))
            _ = try await services.stores.addKeys(
                merchantID: merchant.id,
                mode: .test,
                storeID: aliKassa.id,
                pem: try keys.read("merchant.crt"),
                limits: RequestedLimits(),
                by: .platformOperator
            )
            let signing = try await services.signingKeys.register(
                merchantID: merchant.id,
                mode: .test,
                name: "ed",
                pem: try keys.read("ed.pub"),
                limits: RequestedLimits(),
                by: .platformOperator
            )
            await services.store.shutdown()
            return World(
                settings: settings,
                secret: secret.secret,
                myPOS: myPOS,
                aliKassa: aliKassa,
                platformCertificate: try #require(added.first).platformCertificatePEM,
                signingKeyID: signing.id
            )
        } catch {
            await services.store.shutdown()
            throw error
        }
    }

    static func fixtures() throws -> KeyFixtures {
        let keys = try KeyFixtures()
        try keys.rsa("merchant")
        try keys.openssl(["genpkey", "-algorithm", "ED25519", "-out", keys.path("ed.pem")])
        try keys.openssl(["pkey", "-in", keys.path("ed.pem"), "-pubout", "-out", keys.path("ed.pub")])
        return keys
    }

    static func fields(_ headers: [ClientHeader]) -> HTTPFields {
        var fields = HTTPFields()
        for header in headers { fields.append(HTTPField(name: HTTPField.Name(header.name)!, value: header.value)) }
        return fields
    }

    @Test func everyDialectAuthenticatesAndMyPOSAnswersVerify() async throws {
        let keys = try Self.fixtures()
        let world = try await Self.world(keys)
        let pem = try keys.read("merchant.pem")
        let myPOS = try MyPOSSigner(privateKeyPEM: pem, sid: world.myPOS.externalID, walletNumber: world.myPOS.walletNumber ?? "", keyIndex: 1)
        let verifier = try MyPOSAnswerVerifier(platformCertificatePEM: world.platformCertificate)
        let aliKassa = try AliKassaSigner(privateKeyPEM: pem, account: world.aliKassa.externalID)
        let http = try HTTPMessageSigner(privateKeyPEM: try keys.read("ed.pem"), keyID: world.signingKeyID)
        let app = try await buildApplication(settings: world.settings, logger: Self.logger)
        _ = try await app.test(.router) { client in
            let form: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
            for format in ["form", "json"] {
                var parameters: [(name: String, value: String)] = [
                    ("IPCmethod", "IPCGetTransactionStatus"), ("IPCVersion", "1.4"), ("OrderID", "ö 1"),
                ]
                if format == "json" { parameters.append(("OutputFormat", "json")) }
                let body = try myPOS.form(parameters)
                let answer = try await client.execute(uri: "/vmp/checkout-test", method: .post, headers: form, body: ByteBuffer(string: body)) { $0 }
                #expect(answer.status == .ok, "\(String(buffer: answer.body))")
                let bytes = Array(buffer: answer.body)
                #expect(verifier.verify(body: bytes, contentType: answer.headers[.contentType]) == .valid)
                // A value of the answer changed: refused (myPOS signs values, not names).
                let tampered = Array(String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: "verified", with: "verifiex").utf8)
                #expect(verifier.verify(body: tampered, contentType: answer.headers[.contentType]) != .valid)
            }

            let payload = Array(#"{"amount":"3.00"}"#.utf8)
            var headers = Self.fields(try aliKassa.headers(body: payload))
            headers[.contentType] = "application/json"
            try await client.execute(uri: "/v1/auth/test", method: .post, headers: headers, body: ByteBuffer(bytes: payload)) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).contains(#""scheme":"alikassa""#))
            }

            let signed = Self.fields(try http.headers(method: "GET", url: "https://localhost/v1/auth/test"))
            try await client.execute(uri: "/v1/auth/test", method: .get, headers: signed) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).contains(#""scheme":"http_signature""#))
            }
            try await client.execute(uri: "/v1/auth/test", method: .get, headers: Self.fields(SecretKeyCredential(secret: world.secret).headers)) {
                #expect($0.status == .ok)
            }
        }
    }

    @Test func signaturesMatchForeignPeers() throws {
        let keys = try Self.fixtures()
        let pem = try keys.read("merchant.pem")
        // myPOS: PKCS#1 v1.5 is deterministic, so the client's Signature equals the Python SDK-style peer's.
        let peerForm = try keys.python(["mypos-request", keys.path("merchant.pem"), "12345", "61938166610", "1"])
        let peerPairs = try FormEncodingProbe.decode(peerForm)
        let signer = try MyPOSSigner(privateKeyPEM: pem, sid: "12345", walletNumber: "61938166610", keyIndex: 1)
        let ours = try FormEncodingProbe.decode(try signer.form(peerPairs.filter { $0.name != "Signature" }))
        #expect(ours.last?.value == peerPairs.last?.value)

        // AliKassa: `openssl dgst -sha256 -verify` accepts the client's Sign.
        let body = Data(#"{"amount":"10.00","orderId":"A-1"}"#.utf8)
        try body.write(to: URL(fileURLWithPath: keys.path("body.json")))
        let sign = try #require(try AliKassaSigner(privateKeyPEM: pem, account: UUID().uuidString).headers(body: Array(body)).last?.value)
        try #require(Data(base64Encoded: sign)).write(to: URL(fileURLWithPath: keys.path("sign.bin")))
        try keys.openssl(["dgst", "-sha256", "-verify", keys.path("merchant.pub"), "-signature", keys.path("sign.bin"), keys.path("body.json")])
        #expect(throws: Shell.Failure.self) {
            try keys.openssl(["dgst", "-sha1", "-verify", keys.path("merchant.pub"), "-signature", keys.path("sign.bin"), keys.path("body.json")])
        }

        // RFC 9421: Python's http-message-signatures verifies the client's headers.
        let url = "https://api.example/v1/payments?x=1"
        let headers = try HTTPMessageSigner(privateKeyPEM: try keys.read("ed.pem"), keyID: "sgk_x").headers(
            method: "POST",
            url: url,
            body: Array(body)
        )
        var object = Dictionary(uniqueKeysWithValues: headers.map { ($0.name, $0.value) })
        object["Content-Type"] = "application/json"
        let json = String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
        let text = String(decoding: body, as: UTF8.self)
        try Shell.run("/usr/bin/env", ["python3", Peers.rfc9421, "verify", "ed25519", keys.path("ed.pub"), url, json, text])
        #expect(throws: Shell.Failure.self) {
            try Shell.run("/usr/bin/env", ["python3", Peers.rfc9421, "verify", "ed25519", keys.path("ed.pub"), url + "&y=2", json, text])
        }
    }

    @Test func badKeysAreClearErrors() throws {
        let keys = try Self.fixtures()
        #expect { try MyPOSSigner(privateKeyPEM: try keys.read("merchant.crt"), sid: "1", walletNumber: "1", keyIndex: 1) } throws: {
            ($0 as? KeywardClientError)?.code.rawValue == "malformed_key"
        }
        #expect { try AliKassaSigner(privateKeyPEM: "garbage", account: "a") } throws: { ($0 as? KeywardClientError)?.code.rawValue == "not_pem" }
        try keys.openssl([
            "pkcs8", "-topk8", "-in", keys.path("merchant.pem"), "-v2", "aes-256-cbc", "-passout", "pass:right", "-out", keys.path("enc.pem"),
        ])
        #expect { try AliKassaSigner(privateKeyPEM: try keys.read("enc.pem"), passphrase: Array("wrong".utf8), account: "a") } throws: {
            ($0 as? KeywardClientError)?.code.rawValue == "wrong_passphrase"
        }
        _ = try AliKassaSigner(privateKeyPEM: try keys.read("enc.pem"), passphrase: Array("right".utf8), account: "a")
        #expect { try HTTPMessageSigner(privateKeyPEM: try keys.read("ed.pem"), keyID: "k").headers(method: "GET", url: "not a url") } throws: {
            ($0 as? KeywardClientError)?.code.rawValue == "invalid_url"
        }
    }
}

/// Decodes form bodies in tests (the client itself only encodes).
enum FormEncodingProbe {
    static func decode(_ text: String) throws -> [(name: String, value: String)] {
        try #require(URLComponents(string: "?" + text.replacingOccurrences(of: "+", with: "%20"))?.queryItems).map { ($0.name, $0.value ?? "") }
    }
}
