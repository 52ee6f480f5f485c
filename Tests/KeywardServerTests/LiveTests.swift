import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdTesting
import KeywardCore
import KeywardServer
import NIOCore
import NIOSSL
import Testing

/// Tests over real sockets: TLS, peer addresses, proxies.
@Suite(.closesStores) struct LiveTests {
    @Test func httpsServesWithALocalCAThatClientsCanTrust() async throws {
        let settings = Harness.settings()
        let (app, tenant) = try await Harness.appWithTenant(settings)
        _ = try await app.test(.live) { client in
            let port = try #require(client.port)
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .file(settings.dataDirectory + "/ca.pem")
            let trusting = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
            var request = HTTPClientRequest(url: "https://localhost:\(port)/v1/auth/test")
            request.headers.add(name: "Authorization", value: "Bearer \(tenant.testKey.secret)")
            let response = try await trusting.execute(request, timeout: .seconds(10))
            #expect(response.status.code == 200)
            let body = try await response.body.collect(upTo: 10_000)
            #expect(String(buffer: body).contains(tenant.merchant.id))
            try await trusting.shutdown()

            // Without the CA the certificate is (rightly) not trusted: verification is real.
            let strict = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: .makeClientConfiguration()))
            await #expect(throws: (any Error).self) { _ = try await strict.execute(request, timeout: .seconds(2)) }
            try await strict.shutdown()
        }
    }

    @Test func ipAllowlistsUseThePeerAddress() async throws {
        let settings = Harness.settings()
        let services = try await Harness.services(settings)
        let tenant = try await Harness.tenant(services)
        let loopbackOnly = try await services.secretKeys.create(
            merchantID: tenant.merchant.id,
            mode: .test,
            options: .init(allowedIPs: ["127.0.0.0/8", "::1"]),
            by: .platformOperator
        )
        let officeOnly = try await services.secretKeys.create(
            merchantID: tenant.merchant.id,
            mode: .test,
            options: .init(allowedIPs: ["10.0.0.0/8"]),
            by: .platformOperator
        )
        let app = Application(
            router: buildRouter(services, listener: .https),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            logger: Harness.logger
        )
        _ = try await app.test(.live) { client in
            try await client.call(.get, "/v1/auth/test", key: loopbackOnly.secret) { #expect($0.status == .ok) }
            try await client.call(.get, "/v1/auth/test", key: officeOnly.secret) { response in
                response.expectProblem(.forbidden, "ip_not_allowed", notContaining: officeOnly.secret)
                #expect((response.json["detail"] as? String)?.contains("127.0.0.1") == true)
            }
            // A client cannot pick its address: X-Forwarded-For from an untrusted peer is ignored.
            try await client.call(.get, "/v1/auth/test", key: officeOnly.secret, headers: [.init("X-Forwarded-For")!: "10.1.1.1"]) {
                $0.expectProblem(.forbidden, "ip_not_allowed")
            }
        }
        await services.store.shutdown()
    }

    @Test func trustedProxiesMayVouchForHTTPSAndTheClientAddress() async throws {
        let trusted = Harness.settings { $0.trustedProxies = [try! IPNetwork(parsing: "127.0.0.1/32")] }
        let services = try await Harness.services(trusted)
        let tenant = try await Harness.tenant(services)
        let officeOnly = try await services.secretKeys.create(
            merchantID: tenant.merchant.id,
            mode: .test,
            options: .init(allowedIPs: ["198.51.100.0/24"]),
            by: .platformOperator
        )
        let plain = Application(
            router: buildRouter(services, listener: .plainHTTP),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            logger: Harness.logger
        )
        _ = try await plain.test(.live) { client in
            let forwarded: HTTPFields = [.init("X-Forwarded-Proto")!: "https", .init("X-Forwarded-For")!: "198.51.100.7, 127.0.0.1"]
            try await client.call(.get, "/v1/auth/test", key: officeOnly.secret, headers: forwarded) { #expect($0.status == .ok) }
            try await client.call(.get, "/v1/auth/test", key: officeOnly.secret) { $0.expectProblem(.forbidden, "https_required") }
            try await client.call(.get, "/v1/auth/test", key: tenant.testKey.secret, headers: [.init("X-Forwarded-Proto")!: "http"]) {
                $0.expectProblem(.forbidden, "https_required")
            }
        }
        // The same headers from a peer that is not a trusted proxy change nothing.
        var untrustedSettings = trusted
        untrustedSettings.trustedProxies = [try IPNetwork(parsing: "10.0.0.0/8")]
        let untrusted = try await Harness.services(untrustedSettings)
        let guarded = Application(
            router: buildRouter(untrusted, listener: .plainHTTP),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            logger: Harness.logger
        )
        _ = try await guarded.test(.live) { client in
            try await client.call(.get, "/v1/auth/test", key: tenant.testKey.secret, headers: [.init("X-Forwarded-Proto")!: "https"]) {
                $0.expectProblem(.forbidden, "https_required", notContaining: tenant.testKey.secret)
            }
        }
        await untrusted.store.shutdown()
        await services.store.shutdown()
    }
}

@Suite(.closesStores) struct PlainHTTPListenerTests {
    @Test func apiCallsAreRefusedNeverRedirected() async throws {
        let settings = Harness.settings { $0.httpsPort = 8443 }
        let services = try await Harness.services(settings)
        let tenant = try await Harness.tenant(services)
        let app = Application(router: buildRouter(services, listener: .plainHTTP), logger: Harness.logger)
        _ = try await app.test(.router) { client in
            try await client.call(.get, "/v1/auth/test", key: tenant.testKey.secret) {
                $0.expectProblem(.forbidden, "https_required", notContaining: tenant.testKey.secret)
            }
            try await client.call(.post, "/v1/manage/keys", key: tenant.testKey.secret, json: "{}") { $0.expectProblem(.forbidden, "https_required") }
            try await client.call(.get, "/v1/auth/test", key: nil) { $0.expectProblem(.forbidden, "https_required") }
            try await client.call(.get, "/healthz", key: nil) { #expect($0.status == .ok) }
            // A browser asking for a page is sent to HTTPS.
            try await client.call(.get, "/?tab=keys", key: nil) { response in
                #expect(response.status == .permanentRedirect)
                #expect(response.headers[.location] == "https://localhost:8443/?tab=keys")
            }
        }
        // --insecure-http serves the API on plain HTTP (tests and benchmarks).
        var insecure = settings
        insecure.insecureHTTP = true
        let insecureServices = try await Harness.services(insecure)
        let open = Application(router: buildRouter(insecureServices, listener: .plainHTTP), logger: Harness.logger)
        _ = try await open.test(.router) { client in
            try await client.call(.get, "/v1/auth/test", key: tenant.testKey.secret) { #expect($0.status == .ok) }
        }
        await insecureServices.store.shutdown()
        await services.store.shutdown()
    }
}
