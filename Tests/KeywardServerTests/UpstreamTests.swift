import Foundation
import Hummingbird
import HummingbirdTesting
import KeywardCore
import KeywardCrypto
import KeywardDialects
import KeywardServer
import Testing

/// An upstream merchant API that reports what it received.
func echoUpstream() -> Application<RouterResponder<BasicRequestContext>> {
    let router = Router()
    for method in [HTTPRequest.Method.get, .post, .delete] {
        router.on("**", method: method) { request, context -> Response in
            var request = request
            let body = try await request.collectBody(upTo: 8 * 1024 * 1024)
            var seen: [String: String] = ["method": request.method.rawValue, "uri": request.uri.string, "body_bytes": "\(body.readableBytes)"]
            if body.readableBytes <= 4096 { seen["body"] = String(buffer: body) }
            for field in request.headers { seen["h_" + field.name.canonicalName] = field.value }
            let data = try JSONEncoder().encode(seen)
            return Response(
                status: request.uri.path.hasSuffix("/missing") ? .notFound : .accepted,
                headers: [.contentType: "application/json", .init("X-Upstream")!: "yes"],
                body: .init(byteBuffer: ByteBuffer(data: data))
            )
        }
    }
    return Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: Harness.logger)
}

@Suite(.closesStores) struct UpstreamTests {
    /// A client claims another merchant's identity with header spellings CGI, WSGI and Rack read as
    /// Keyward's (`Keyward_Merchant_Id`), and claims an address with its own forwarding headers.
    @Test func aClientCannotSpoofTheIdentityOrAddressTheUpstreamSees() async throws {
        try await echoUpstream().test(.live) { upstream in
            let port = try #require(upstream.port)
            let settings = Harness.settings { $0.upstreamURL = "http://127.0.0.1:\(port)" }
            let (app, tenant) = try await Harness.appWithTenant(settings)
            _ = try await app.test(.router) { client in
                let spoofed: HTTPFields = [
                    .init("Keyward_Merchant_Id")!: "mch_victim", .init("KEYWARD_MODE")!: "live", .init("keyward-permissions")!: "*",
                    .init("X-Forwarded-For")!: "203.0.113.66", .init("X_Forwarded_For")!: "203.0.113.66", .init("Forwarded")!: "for=203.0.113.66",
                    .init("X-Real-IP")!: "203.0.113.66", .init("X-Refresh_Token")!: "leaked",
                ]
                let response = try await client.call(.get, "/v1/orders", key: tenant.testKey.secret, headers: spoofed)
                #expect(response.status == .accepted)
                let seen = response.json
                #expect(seen["h_keyward-merchant-id"] as? String == tenant.merchant.id)
                #expect(seen["h_keyward-mode"] as? String == "test")
                #expect(seen["h_keyward-permissions"] as? String == "*")
                for name in ["keyward_merchant_id", "keyward_mode", "x_forwarded_for", "x-real-ip", "x-refresh_token"] {
                    #expect(seen["h_" + name] == nil, "\(name) reached the upstream")
                }
                // The router test has no peer address: Keyward names none rather than the client's claim.
                #expect(seen["h_x-forwarded-for"] == nil && seen["h_forwarded"] == nil, "\(seen)")
                #expect(seen["h_x-forwarded-proto"] as? String == "https")
            }
        }
    }

    @Test func authenticatedCallsAreForwardedWithVerifiedIdentityOnly() async throws {
        try await echoUpstream().test(.live) { upstream in
            let port = try #require(upstream.port)
            let settings = Harness.settings { $0.upstreamURL = "http://127.0.0.1:\(port)" }
            let services = try await Harness.services(settings)
            let tenant = try await Harness.tenant(services)
            let restricted = try await services.secretKeys.create(
                merchantID: tenant.merchant.id,
                mode: .live,
                options: .init(permissions: ["payments.write"]),
                by: .platformOperator
            )
            await services.store.shutdown()
            let app = try await Harness.app(settings)
            _ = try await app.test(.router) { client in
                let spoofed: HTTPFields = [
                    .init("Keyward-Merchant-Id")!: "mch_someoneelse", .init("Keyward-Mode")!: "live", .init("X-Custom")!: "kept",
                    .connection: "x-hop", .init("X-Hop")!: "dropped",
                ]
                let big = String(repeating: "p", count: 2 * 1024 * 1024)
                let response = try await client.call(
                    .post,
                    "/v1/payments?capture=true",
                    key: tenant.testKey.secret,
                    json: "{\"note\":\"\(big)\"}",
                    headers: spoofed
                )
                #expect(response.status == .accepted)
                #expect(response.headers[.init("X-Upstream")!] == "yes")
                let seen = response.json
                #expect(seen["uri"] as? String == "/v1/payments?capture=true")
                #expect(seen["h_authorization"] == nil, "the key must not reach upstream")
                #expect(seen["h_keyward-merchant-id"] as? String == tenant.merchant.id)
                #expect(seen["h_keyward-mode"] as? String == "test")
                #expect(seen["h_keyward-key-id"] as? String == tenant.testKey.info.id)
                #expect(seen["h_keyward-permissions"] as? String == "*")
                #expect(seen["h_x-custom"] as? String == "kept")
                #expect(seen["h_x-hop"] == nil, "headers named in Connection are hop-by-hop")
                #expect(seen["h_x-forwarded-proto"] as? String == "https")
                #expect(Int(seen["body_bytes"] as? String ?? "") == big.utf8.count + 11)

                try await client.call(.get, "/v1/payments/missing", key: restricted.secret) { response in
                    #expect(response.status == .notFound, "upstream status preserved")
                    #expect(response.json["h_keyward-permissions"] as? String == "payments.write")
                    #expect(response.json["h_keyward-mode"] as? String == "live")
                }
                // Unauthenticated calls never reach upstream.
                try await client.call(.post, "/v1/payments", key: nil, json: "{}") { $0.expectProblem(.unauthorized, "missing_credentials") }
            }
        }
    }

    @Test func oversizedBodiesAndDeadUpstreamsAreClearErrors() async throws {
        let settings = Harness.settings {
            $0.upstreamURL = "http://127.0.0.1:1"
            $0.maxBodyBytes = 1024
        }
        let services = try await Harness.services(settings)
        let tenant = try await Harness.tenant(services)
        await services.store.shutdown()
        let app = try await Harness.app(settings)
        _ = try await app.test(.router) { client in
            try await client.call(.post, "/v1/payments", key: tenant.testKey.secret, json: String(repeating: " ", count: 2048)) {
                $0.expectProblem(.contentTooLarge, "body_too_large")
            }
            try await client.call(.get, "/v1/payments", key: tenant.testKey.secret) { $0.expectProblem(.badGateway, "upstream_unavailable") }
        }
    }

    /// myPOS: the verified form goes upstream unchanged; the upstream's JSON answer comes back signed by
    /// the platform key of the index, verifiable with the downloaded certificate.
    @Test func myPOSAnswersFromUpstreamAreSignedWithThePlatformKey() async throws {
        try await echoUpstream().test(.live) { upstream in
            let port = try #require(upstream.port)
            let settings = Harness.settings { $0.upstreamURL = "http://127.0.0.1:\(port)" }
            let services = try await Harness.services(settings)
            let tenant = try await Harness.tenant(services)
            let store = try await services.stores.create(merchantID: tenant.merchant.id, mode: .test, NewStore(name: "shop", dialect: .mypos))
            let merchantKey = try RSASigningKey.generate(bits: 2048)
            let added = try await services.stores.addKeys(
                merchantID: tenant.merchant.id,
                mode: .test,
                storeID: store.id,
                pem: merchantKey.publicKey.spkiPEM,
                limits: RequestedLimits(),
                by: .platformOperator
            )
            await services.store.shutdown()
            let firstKey = try #require(added.first)
            let platform = try #require(try PublicKeyImport.parse(pem: firstKey.platformCertificatePEM).first?.key)
            let form = try MyPOSIPC.signed(
                [
                    ("IPCmethod", "IPCGetTransactionStatus"), ("IPCVersion", "1.4"), ("SID", store.externalID),
                    ("WalletNumber", store.walletNumber ?? ""), ("OrderID", "o-1"), ("KeyIndex", "1"), ("OutputFormat", "json"),
                ],
                with: merchantKey
            )
            let body = FormEncoding.encode(form)
            let app = try await Harness.app(settings)
            _ = try await app.test(.router) { client in
                let response = try await client.execute(
                    uri: "/vmp/checkout-test",
                    method: .post,
                    headers: ProviderGatewayTests.form,
                    body: ByteBuffer(string: body)
                ) { $0 }
                #expect(response.status == .accepted)
                #expect(response.headers[.init("X-Upstream")!] == "yes")
                let document = try OrderedJSON.parse(Array(buffer: response.body))
                #expect(MyPOSIPC.verifyJSON(document, with: platform) == .valid)
                #expect(MyPOSIPC.verifyJSON(document, with: merchantKey.publicKey) != .valid)
                let seen = response.json
                #expect(seen["uri"] as? String == "/vmp/checkout-test")
                #expect(seen["body_bytes"] as? String == "\(body.utf8.count)")
                #expect(seen["h_keyward-auth-scheme"] as? String == "mypos_ipc")
                #expect(seen["h_keyward-merchant-id"] as? String == tenant.merchant.id)
                #expect(seen["h_keyward-key-id"] as? String == added.first?.id)
            }
        }
    }
}
