import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTLS
import HummingbirdTesting
import KeywardCrypto
import KeywardTestSupport
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization
import Testing

@testable import KeywardCore
@testable import KeywardServer

/// Webhooks as a way into the server's network (SSRF): internal destinations in every spelling are
/// refused at registration (API and cabinet) and again at delivery, a name that changes its answer
/// after registration (DNS rebinding) reaches nothing, redirects are not followed, and an answer's body
/// is neither read without limit nor recorded. Every connection in here goes to loopback.
@Suite(.closesStores) struct WebhookSSRFTests {
    typealias Browser = CabinetTests.Browser

    /// Destinations inside the network, each spelled the way an attacker would; a path that must never
    /// come back in the refusal.
    static let internalDestinations = [
        "http://127.0.0.1/", "http://127.0.0.1:8080/hook", "http://2130706433/", "http://0177.0.0.1/", "http://0x7f.1/", "http://127.1/",
        "http://0x7f000001/", "http://017700000001/", "http://[::1]/", "http://[::ffff:127.0.0.1]/", "http://[::ffff:7f00:1]/",
        "http://[::127.0.0.1]/", "http://[64:ff9b::a00:1]/", "http://[2002:a00:1::]/", "http://10.0.0.1/", "http://172.16.0.1/",
        "http://192.168.1.1/", "http://169.254.169.254/latest/meta-data/", "http://0xa9fea9fe/", "http://[fe80::1]/", "http://[fd00::1]/",
        "http://100.64.0.1/", "http://224.0.0.1/", "http://0.0.0.0/", "http://0/", "http://255.255.255.255/", "http://[::]/", "http://[ff02::1]/",
        "http://localhost/", "http://LOCALHOST./", "http://api.localhost/", "https://ｌｏｃａｌｈｏｓｔ/", "http://１２７.０.０.１/",
        "http://198.18.0.1/", "http://192.0.0.8/", "http://[fec0::1]/",
        // Names whose answers are inside (see `resolver`).
        "https://internal.hooks.example/", "https://mixed.hooks.example/", "https://v6.hooks.example/", "https://metadata.hooks.example/",
    ]
    static let secretPath = "tok_PATHSECRET9931"

    static let resolver = WebhookNameResolver.fixed([
        "internal.hooks.example": ["10.0.0.1"],
        "mixed.hooks.example": ["93.184.215.14", "10.0.0.1"],  // one public, one private: refused
        "v6.hooks.example": ["fd00::1"],
        "metadata.hooks.example": ["169.254.169.254"],
    ])

    @Test func internalDestinationsInEverySpellingAreRefusedByTheAPI() async throws {
        let (app, tenant) = try await Harness.appWithTenant(Harness.settings { $0.webhookResolver = Self.resolver })
        _ = try await app.test(.router) { client in
            for destination in Self.internalDestinations {
                let url = destination.hasSuffix("/") ? destination + Self.secretPath : destination + "/" + Self.secretPath
                try await client.call(.put, "/v1/manage/webhook", key: tenant.liveKey.secret, json: ChannelAlertTests.json(["url": url])) {
                    $0.expectProblem(.badRequest, "webhook_destination_forbidden", notContaining: Self.secretPath)
                    #expect($0.json["field"] as? String == "url" || $0.json["field"] == nil)
                }
            }
            try await client.call(.put, "/v1/manage/webhook", key: tenant.liveKey.secret, json: #"{"url": "https://nowhere.hooks.example/x"}"#) {
                $0.expectProblem(.badRequest, "webhook_host_unresolvable")
            }
            try await client.call(.get, "/v1/manage/webhook", key: tenant.liveKey.secret) { $0.expectProblem(.notFound, "resource_missing") }
        }
        // The operator's setting re-allows loopback, and only loopback.
        var settings = Harness.settings { $0.webhookResolver = Self.resolver }
        Harness.loopbackWebhooks(&settings)
        settings.webhookResolver = Self.resolver
        let (allowing, other) = try await Harness.appWithTenant(settings)
        _ = try await allowing.test(.router) { client in
            for url in ["http://127.0.0.1:9/hook", "http://0x7f.1:9/hook", "http://[::1]:9/hook", "http://localhost:9/hook"] {
                let set = try await client.call(.put, "/v1/manage/webhook", key: other.liveKey.secret, json: ChannelAlertTests.json(["url": url]))
                #expect(set.status == .created, "\(url): \(set.text)")
            }
            for url in ["http://10.0.0.1/", "http://169.254.169.254/", "https://internal.hooks.example/", "http://[fd00::1]/"] {
                try await client.call(.put, "/v1/manage/webhook", key: other.liveKey.secret, json: ChannelAlertTests.json(["url": url])) {
                    $0.expectProblem(.badRequest, "webhook_destination_forbidden")
                }
            }
        }
    }

    @Test func internalDestinationsAreRefusedInTheCabinetToo() async throws {
        let clock = TestClock()
        let settings = Harness.settings { $0.webhookResolver = Self.resolver }
        let services = try await Harness.services(settings, clock: clock.clock)
        let (email, password, merchant, totp) = try await CabinetKeyActionsTests.enrolled(services, role: .owner, clock: clock)
        let app = try await Harness.app(settings, clock: clock.clock)
        _ = try await app.test(.router) { client in
            let browser = try await CabinetKeysTests.signIn(client, services, email: email, password: password, totp: totp, at: clock.clock.now())
            let csrf = try #require(Browser.csrf(String(buffer: try await browser.send(client, .get, "/cabinet/settings").body)))
            for destination in Self.internalDestinations {
                let response = try await browser.send(
                    client,
                    .post,
                    "/cabinet/settings/webhook",
                    form: ["csrf": csrf, "url": destination + Self.secretPath]
                )
                let page = String(buffer: response.body)
                #expect(response.status == .badRequest, "\(destination)")
                #expect(page.contains("Webhooks go only to public addresses"), "\(destination)")
                #expect(!page.contains(#"id="webhook-secret""#))
            }
            let unresolvable = try await browser.send(
                client,
                .post,
                "/cabinet/settings/webhook",
                form: ["csrf": csrf, "url": "https://nowhere.hooks.example/"]
            )
            #expect(unresolvable.status == .badRequest && String(buffer: unresolvable.body).contains("does not resolve"))
        }
        #expect(try await services.webhooks.endpoint(merchantID: merchant.id) == nil)
    }

    @Test func aNameThatTurnsInternalAfterRegistrationIsRefusedAtDeliveryAndNothingIsConnected() async throws {
        let listener = try await ConnectionCounter.start()
        let rebinding = SwitchingResolver(answer: "127.0.0.2")
        // 127.0.0.2 stands for a public address (allowed here so that no test sends traffic off this machine);
        // the listener is on 127.0.0.1, which stays refused.
        let settings = try Harness.isolatedSettings {
            $0.webhookAllowedNetworks = [try! IPNetwork(parsing: "127.0.0.2/32")]
            $0.webhookResolver = rebinding.resolver
        }
        let services = try await Harness.services(settings)
        let tenant = try await Harness.tenant(services)
        _ = try await services.webhooks.setEndpoint(merchantID: tenant.merchant.id, url: "http://rebind.hooks.example:\(listener.port)/hook")
        #expect(rebinding.lookups == 1)
        rebinding.answer = "127.0.0.1"
        try await Self.queueDelivery(services, merchantID: tenant.merchant.id)
        let report = try await ExpiryAlerts(services: services, logger: Harness.logger).runOnce()
        #expect(report.failedAttempts == 1 && report.delivered == 0)
        #expect(rebinding.lookups == 2, "resolved again for the delivery, once")
        let recorded = try await services.webhooks.deliveries(merchantID: tenant.merchant.id)
        #expect(recorded.first?.lastError?.hasPrefix("webhook_destination_forbidden") == true, "\(recorded.first?.lastError ?? "nil")")
        try await Task.sleep(for: .milliseconds(200))
        #expect(listener.accepted == 0, "no connection reached the internal address")
        try await listener.stop()
    }

    @Test func deliveryConnectsToTheCheckedAddressWithTheOriginalHostHeader() async throws {
        let hosts = Mutex<[String]>([])
        let router = Router()
        router.post("/hook") { request, _ -> HTTPResponse.Status in
            hosts.withLock { $0.append(request.head.authority ?? "") }
            return .ok
        }
        let resolver = SwitchingResolver(answer: "127.0.0.1")
        var settings = try Harness.isolatedSettings()
        Harness.loopbackWebhooks(&settings)
        settings.webhookResolver = resolver.resolver
        let services = try await Harness.services(settings)
        let tenant = try await Harness.tenant(services)
        try await Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0))).test(.live) { hook in
            let port = try #require(hook.port)
            // No DNS server knows this name: only the checked address can have carried the request.
            _ = try await services.webhooks.setEndpoint(merchantID: tenant.merchant.id, url: "http://Pinned.Hooks.Example.:\(port)/hook")
            try await Self.queueDelivery(services, merchantID: tenant.merchant.id)
            let report = try await ExpiryAlerts(services: services, logger: Harness.logger).runOnce()
            let outcome = try await services.webhooks.deliveries(merchantID: tenant.merchant.id).first?.lastError
            #expect(report.delivered == 1, "\(outcome ?? "")")
            #expect(hosts.withLock { $0 } == ["pinned.hooks.example:\(port)"])
            #expect(resolver.lookups == 2, "once at registration, once for the delivery")
        }
    }

    @Test func httpsIsVerifiedAgainstTheNameWhileConnectingToTheAddress() async throws {
        let pki = try TestPKI()
        let received = Mutex(0)
        let router = Router()
        router.post("/hook") { _, _ -> HTTPResponse.Status in
            received.withLock { $0 += 1 }
            return .ok
        }
        let serverTLS = TLSConfiguration.makeServerConfiguration(
            certificateChain: try [pki.path("leaf.crt"), pki.path("inter.crt")].flatMap { try NIOSSLCertificate.fromPEMFile($0) }.map {
                .certificate($0)
            },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: pki.path("leaf.key"), format: .pem))
        )
        var clientTLS = TLSConfiguration.makeClientConfiguration()
        clientTLS.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(pki.path("root.crt")))
        var settings = try Harness.isolatedSettings()
        Harness.loopbackWebhooks(&settings, names: ["www.shop.example", "other.hooks.example"])
        let services = try await Harness.services(settings)
        let tenant = try await Harness.tenant(services)
        let alerts = ExpiryAlerts(
            services: services,
            logger: Harness.logger,
            sender: WebhookSender(policy: services.webhooks.destinations, tlsConfiguration: clientTLS)
        )
        let server = Application(
            router: router,
            server: try .tls(.http1(), tlsConfiguration: serverTLS),
            configuration: .init(address: .hostname("127.0.0.1", port: 0))
        )
        try await server.test(.live) { hook in
            let port = try #require(hook.port)
            // The certificate names www.shop.example (and no loopback address): it verifies only against the name.
            _ = try await services.webhooks.setEndpoint(merchantID: tenant.merchant.id, url: "https://www.shop.example:\(port)/hook")
            try await Self.queueDelivery(services, merchantID: tenant.merchant.id)
            #expect(try await alerts.runOnce().delivered == 1)
            #expect(received.withLock { $0 } == 1)
            // A name the certificate does not cover fails the handshake, whatever address it resolves to.
            _ = try await services.webhooks.setEndpoint(merchantID: tenant.merchant.id, url: "https://other.hooks.example:\(port)/hook")
            try await Self.queueDelivery(services, merchantID: tenant.merchant.id)
            #expect(try await alerts.runOnce().failedAttempts == 1)
            #expect(received.withLock { $0 } == 1)
            let failed = try await services.webhooks.deliveries(merchantID: tenant.merchant.id).first { $0.status == "pending" }
            #expect(failed?.lastError == "unreachable: tls_failed")
        }
    }

    @Test func redirectsAreNotFollowed() async throws {
        let target = try await ConnectionCounter.start()
        let router = Router()
        router.post("/hook") { _, _ -> Response in
            Response(status: .found, headers: [.location: "http://127.0.0.1:\(target.port)/stolen"])
        }
        var settings = try Harness.isolatedSettings()
        Harness.loopbackWebhooks(&settings)
        let services = try await Harness.services(settings)
        let tenant = try await Harness.tenant(services)
        try await Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0))).test(.live) { hook in
            _ = try await services.webhooks.setEndpoint(merchantID: tenant.merchant.id, url: "http://127.0.0.1:\(try #require(hook.port))/hook")
            try await Self.queueDelivery(services, merchantID: tenant.merchant.id)
            #expect(try await ExpiryAlerts(services: services, logger: Harness.logger).runOnce().failedAttempts == 1)
            let recorded = try await services.webhooks.deliveries(merchantID: tenant.merchant.id)
            #expect(recorded.first?.lastError == "HTTP 302 (redirects are not followed)")
            #expect(recorded.first?.status == "pending", "retried later like any failed attempt")
        }
        try await Task.sleep(for: .milliseconds(200))
        #expect(target.accepted == 0, "the redirect's target received nothing")
        try await target.stop()
    }

    @Test func anEndlessAnswerIsReadOnlyToTheCapAndItsBodyIsNeverRecorded() async throws {
        let marker = "BODY-MARKER-7Q2"
        let server = try await EndlessAnswer.start(status: "500 Internal Server Error", marker: marker)
        var settings = try Harness.isolatedSettings()
        Harness.loopbackWebhooks(&settings)
        let services = try await Harness.services(settings)
        let tenant = try await Harness.tenant(services)
        _ = try await services.webhooks.setEndpoint(merchantID: tenant.merchant.id, url: "http://127.0.0.1:\(server.port)/hook")
        try await Self.queueDelivery(services, merchantID: tenant.merchant.id)
        #expect(try await ExpiryAlerts(services: services, logger: Harness.logger).runOnce().failedAttempts == 1)
        let recorded = try await services.webhooks.deliveries(merchantID: tenant.merchant.id)
        // The attempt ended at the read cap, not at the 10 s timeout (which records `timeout`); no wall-clock
        // bound here: a loaded CI machine took 9 s for what takes 0.1 s alone.
        #expect(recorded.first?.lastError == "HTTP 500")
        #expect(recorded.allSatisfy { !($0.lastError ?? "").contains(marker) })
        // An "eventually" bound: alone this takes milliseconds; CI's PostgreSQL pass once needed more than 30 s
        // (the test server's writes share the suite's two event loops). A client that never hangs up still fails.
        for _ in 0..<1200 where !server.finished { try await Task.sleep(for: .milliseconds(100)) }
        #expect(server.finished, "the server's write failed: the client hung up")
        // What the kernel took: the client's 64 KiB plus at most the two sockets' buffers.
        #expect(server.written < 16 << 20, "reading stopped long before the answer's end (\(server.written) bytes written)")
        try await server.stop()
    }

    /// Queues one notification for the merchant's endpoint, as an expiry change would.
    static func queueDelivery(_ services: KeywardServices, merchantID: String) async throws {
        try await services.webhooks.enqueue(
            services.store.sql,
            merchantIDs: [merchantID],
            merchantID: merchantID,
            eventType: "certificate.expiring",
            payload: #"{"type":"certificate.expiring"}"#
        )
    }
}

/// A resolver whose answer the test changes (a DNS server an attacker controls), counting lookups.
final class SwitchingResolver: Sendable {
    private let state: Mutex<(answer: String, lookups: Int)>

    init(answer: String) { state = Mutex((answer, 0)) }

    var answer: String {
        get { state.withLock { $0.answer } }
        set { state.withLock { $0.answer = newValue } }
    }
    var lookups: Int { state.withLock { $0.lookups } }

    var resolver: WebhookNameResolver {
        WebhookNameResolver { [self] _ in
            let answer = state.withLock { state -> String in
                state.lookups += 1
                return state.answer
            }
            return [IPAddressBytes.parse(answer)].compactMap { $0 }
        }
    }
}

/// A TCP listener on 127.0.0.1 that counts the connections it accepts (and closes them).
final class ConnectionCounter: Sendable {
    final class Count: Sendable {
        let value = Mutex(0)
    }

    let channel: any Channel
    let count: Count
    let port: Int

    private init(channel: any Channel, count: Count) throws {
        self.channel = channel
        self.count = count
        self.port = try #require(channel.localAddress?.port)
    }

    var accepted: Int { count.value.withLock { $0 } }

    static func start() async throws -> ConnectionCounter {
        let count = Count()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { child in
                count.value.withLock { $0 += 1 }
                return child.close()
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return try ConnectionCounter(channel: channel, count: count)
    }

    func stop() async throws { try await channel.close() }
}

/// A raw HTTP server on 127.0.0.1 that answers each request with `status` and a body of 1 GiB
/// (`marker` repeated), one chunk at a time, each waited for until the kernel took it: `written` is
/// then what left the server, at most the client's reads plus the two sockets' buffers.
final class EndlessAnswer: Sendable {
    final class State: Sendable {
        let written = Mutex(0)
        let finished = Mutex(false)
    }

    /// Starts the answer at the first bytes of a request.
    final class Answer: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let state: State, head: ByteBuffer, chunk: ByteBuffer, total: Int
        let started = Mutex(false)

        init(state: State, head: ByteBuffer, chunk: ByteBuffer, total: Int) {
            self.state = state
            self.head = head
            self.chunk = chunk
            self.total = total
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard
                !started.withLock({
                    let was = $0
                    $0 = true
                    return was
                })
            else { return }
            let channel = context.channel
            Task { [state, head, chunk, total] in
                defer { state.finished.withLock { $0 = true } }
                do {
                    try await channel.writeAndFlush(head).get()
                    // Bounded: 1 GiB at most, and it ends as soon as the client goes away.
                    for _ in 0..<total / chunk.readableBytes {
                        try await channel.writeAndFlush(chunk).get()
                        state.written.withLock { $0 += chunk.readableBytes }
                    }
                } catch {}
            }
        }
    }

    let channel: any Channel
    let state: State
    let port: Int

    var written: Int { state.written.withLock { $0 } }
    var finished: Bool { state.finished.withLock { $0 } }

    private init(channel: any Channel, state: State) throws {
        self.channel = channel
        self.state = state
        self.port = try #require(channel.localAddress?.port)
    }

    static func start(status: String, marker: String) async throws -> EndlessAnswer {
        let total = 1 << 30
        let chunk = ByteBuffer(string: String(repeating: marker + " ", count: 64 * 1024 / (marker.count + 1)))
        let head = ByteBuffer(string: "HTTP/1.1 \(status)\r\nContent-Length: \(total)\r\n\r\n")
        let state = State()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.addHandler(Answer(state: state, head: head, chunk: chunk, total: total))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return try EndlessAnswer(channel: channel, state: state)
    }

    func stop() async throws { try await channel.close() }
}
