import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KeywardCore
import KeywardCrypto
import KeywardServer
import Testing

/// Credentials are judged from the headers before a body is read: an attacker posting large bodies with a
/// bogus signature is answered before it has sent them, and nothing of them is buffered.
@Suite(.closesStores) struct BodyBeforeAuthTests {
    /// The whole router (as on HTTPS) on a plain loopback socket, so raw clients can speak to it.
    static func liveRouter(_ settings: Settings) async throws -> (app: some ApplicationProtocol, tenant: Harness.Tenant) {
        let services = try await Harness.services(settings)
        let tenant = try await Harness.tenant(services)
        let app = Application(
            router: buildRouter(services, listener: .https),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            logger: Harness.logger
        )
        return (app, tenant)
    }

    static let eightMiB = 8 * 1024 * 1024

    @Test func largePostsWithABogusSignatureAreAnsweredBeforeTheirBodiesAreSent() async throws {
        let (app, _) = try await Self.liveRouter(Harness.settings())
        _ = try await app.test(.live) { client in
            let port = try #require(client.port)
            let now = Int(Date().timeIntervalSince1970)
            let bogus = [
                // Well formed, naming a key nobody registered.
                "Signature-Input: sig1=(\"@method\" \"@target-uri\" \"content-digest\");created=\(now);keyid=\"sgk_0000000000000000000000\"\r\n"
                    + "Signature: sig1=:AAAA:\r\nContent-Digest: sha-256=:AAAA:\r\n",
                // Not even parseable.
                "Signature-Input: garbage\r\nSignature: garbage\r\n",
            ]
            try await withThrowingTaskGroup(of: (Bool, Int).self) { group in
                for index in 0..<20 {
                    group.addTask {
                        let connection = try await RawConnection.open(port: port)
                        try await connection.send(
                            "POST /v1/payments HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                                + "Content-Length: \(Self.eightMiB)\r\n" + bogus[index % 2] + "\r\n"
                        )
                        // 64 KiB of the 8 MiB, then wait: the answer must not need the rest.
                        try await connection.send([UInt8](repeating: 0x20, count: 64 * 1024))
                        let answered = try await connection.received(containing: "HTTP/1.1 401", within: .seconds(10))
                        let text = connection.inbox.text.withLock { $0 }
                        await connection.close()
                        return (answered && text.contains("urn:keyward:problem:"), 64 * 1024)
                    }
                }
                for try await (answered, sent) in group {
                    #expect(answered, "refused with 401 after \(sent) of \(Self.eightMiB) bytes")
                }
            }
        }
    }

    @Test func providerFormsDeclaredOverTheirCapAreRefusedBeforeTheBody() async throws {
        let settings = Harness.settings { $0.signedFormMaxBodyBytes = 64 * 1024 }
        let (app, _) = try await Self.liveRouter(settings)
        _ = try await app.test(.live) { client in
            let port = try #require(client.port)
            let heads = [
                "POST \(settings.myposTestPath) HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\n",
                "POST /v1/payments HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\n",
                "POST /v1/payments HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nAccount: \(UUID().uuidString)\r\nSign: AAAA\r\n",
            ]
            for head in heads {
                let connection = try await RawConnection.open(port: port)
                try await connection.send(head + "Content-Length: \(1024 * 1024)\r\n\r\n")
                #expect(try await connection.received(containing: "HTTP/1.1 413", within: .seconds(10)), "\(head)")
                #expect(connection.inbox.text.withLock { $0 }.contains("body_too_large"))
                await connection.close()
            }
        }
    }

    @Test func authenticatedLargeBodiesStillReachTheUpstream() async throws {
        try await echoUpstream().test(.live) { upstream in
            let upstreamPort = try #require(upstream.port)
            let settings = Harness.settings { $0.upstreamURL = "http://127.0.0.1:\(upstreamPort)" }
            let (app, tenant) = try await Harness.appWithTenant(settings)
            try await app.test(.router) { client in
                // A secret key: judged from the header, the 6 MiB body streams to the upstream.
                let large = String(repeating: "x", count: 6 * 1024 * 1024)
                try await client.call(.post, "/v1/payments", key: tenant.testKey.secret, json: large) { response in
                    #expect(response.status == .accepted)
                    #expect(response.json["body_bytes"] as? String == "\(large.utf8.count)")
                }
                // A signature with a matching digest over a 1 MiB body: headers first, then the body and its digest.
                let privateKey = Curve25519.Signing.PrivateKey()
                let registered = try await client.call(
                    .post,
                    "/v1/manage/signing-keys",
                    key: tenant.testKey.secret,
                    json: try SignedRequestTests.jsonBody(["name": "backend", "public_key": SignedRequestTests.pem(privateKey)])
                )
                let keyID = try #require(registered.json["id"] as? String)
                let body = "{\"pad\":\"" + String(repeating: "y", count: 1024 * 1024) + "\"}"
                let headers = try SignedRequestTests.signedHeaders(
                    method: "POST",
                    path: "/v1/payments",
                    body: body,
                    key: .ed25519(privateKey),
                    keyID: keyID
                )
                try await client.execute(uri: "/v1/payments", method: .post, headers: headers, body: ByteBuffer(string: body)) { response in
                    #expect(response.status == .accepted, "\(response.text)")
                    #expect(response.json["body_bytes"] as? String == "\(body.utf8.count)")
                }
                // The same headers over another body: the digest check after the headers still holds.
                let again = try SignedRequestTests.signedHeaders(
                    method: "POST",
                    path: "/v1/payments",
                    body: body,
                    key: .ed25519(privateKey),
                    keyID: keyID
                )
                try await client.execute(uri: "/v1/payments", method: .post, headers: again, body: ByteBuffer(string: body + " ")) {
                    $0.expectProblem(.unauthorized, "digest_mismatch")
                }
            }
        }
    }
}
