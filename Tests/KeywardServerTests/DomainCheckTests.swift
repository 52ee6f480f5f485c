import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KeywardCore
import KeywardCrypto
import KeywardServer
import KeywardTestSupport
import NIOCore
import Synchronization
import Testing

/// The checks themselves: the HTTP token from the merchant's current host (a local server here,
/// reached through challtestsrv's DNS, which answers 127.0.0.1 for every name), its outbound policy
/// and redirects; re-checks that unverify a domain after repeated failures; several instances sharing
/// the work.
@Suite(.closesStores)
struct DomainCheckTests {
    /// These tests are about what the local web server answers, not the 5 s production deadline, which a
    /// loaded 2-core CI machine (load average 16) missed: "no complete answer within 5 s" instead of the 404.
    static let answerTimeout = TimeAmount.seconds(60)

    /// A merchant's current web server on a loopback port: answers `routes` and counts requests.
    final class WebHost: Sendable {
        let requests = Mutex<[String]>([])
        func record(_ request: Request) { requests.withLock { $0.append("\(request.head.authority ?? "") \(request.uri.path)") } }
    }

    static func withWebHost(
        _ build: @escaping @Sendable (Router<BasicRequestContext>, WebHost) -> Void,
        _ body: @Sendable (Int, WebHost) async throws -> Void
    ) async throws {
        let host = WebHost()
        let router = Router()
        build(router, host)
        try await Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0))).test(.live) { client in
            try await body(try #require(client.port), host)
        }
    }

    static func channel(_ services: KeywardServices, domain: String) async throws -> (SalesChannelInfo, DomainVerification) {
        let tenant = try await Harness.tenant(services)
        let channel = try await services.channels.create(
            merchantID: tenant.merchant.id,
            mode: .live,
            name: "Shop",
            domains: [domain],
            sslMode: .managed,
            certificateID: nil
        )
        return (channel, try #require(try await services.domainVerifications.records(merchantID: tenant.merchant.id, domains: [domain]).first))
    }

    @Test func httpVerificationFromTheCurrentHostSucceedsWhereTheOperatorAllowsItsNetwork() async throws {
        let dns = try await ChallengeDNS.start()
        defer { dns.stop() }
        let resolver = try DNSServerAddress(parsing: dns.address)
        let clock = TestClock()
        // A database of its own: a live server of another test would check these pending domains too.
        let services = try await Harness.services(try Harness.isolatedSettings { $0.verificationDNSResolver = resolver }, clock: clock.clock)
        let (channel, record) = try await Self.channel(services, domain: "web-\(UUID().uuidString.prefix(6).lowercased()).test")
        try await Self.withWebHost({ router, host in
            router.get(".well-known/keyward-domain-verification/:token") { request, context -> String in
                host.record(request)
                return "\n  \(try context.parameters.require("token"))  \n"
            }
        }) { port, host in
            // Public addresses only by default: 127.0.0.1 is refused before any connection is made.
            let strict = services.domainVerifications.using(
                checker: NetworkDomainChecker(resolver: resolver, policy: OutboundAddressPolicy(), httpPort: port)
            )
            let refused = try #require(try await strict.checkChannel(merchantID: nil, mode: nil, channelID: channel.id).first)
            #expect(
                refused.status == .failed && refused.lastError?.contains("127.0.0.1") == true && refused.lastError?.contains("not public") == true,
                "\(refused)"
            )
            #expect(host.requests.withLock { $0 }.isEmpty, "no request may reach a refused address")
            // `verification_allowed_networks` lets the operator's own network in (tests: loopback).
            let allowed = try Settings.resolve(
                flags: ["verification_allowed_networks": "127.0.0.0/8", "verification_dns_resolver": dns.address],
                environment: [:]
            )
            #expect(allowed.verificationDNSResolver == resolver)
            clock.advance(11)
            let loopback = services.domainVerifications.using(
                checker: NetworkDomainChecker(
                    resolver: resolver,
                    policy: OutboundAddressPolicy(allowedNetworks: allowed.verificationAllowedNetworks),
                    httpPort: port,
                    timeout: Self.answerTimeout
                )
            )
            let verified = try #require(try await loopback.checkChannel(merchantID: nil, mode: nil, channelID: channel.id).first)
            #expect(verified.status == .verified && verified.method == .http, "\(verified)")
            #expect(host.requests.withLock { $0 } == ["\(record.domain):\(port) /.well-known/keyward-domain-verification/\(record.token)"])
        }
    }

    @Test func httpVerificationDoesNotFollowARedirectToAnotherHostNorAcceptAnotherAnswer() async throws {
        let dns = try await ChallengeDNS.start()
        defer { dns.stop() }
        let resolver = try DNSServerAddress(parsing: dns.address)
        let services = try await Harness.services(try Harness.isolatedSettings { $0.verificationDNSResolver = resolver })
        let loopback = OutboundAddressPolicy(allowedNetworks: [try IPNetwork(parsing: "127.0.0.0/8")])
        let (elsewhere, _) = try await Self.channel(services, domain: "redirect-\(UUID().uuidString.prefix(6).lowercased()).test")
        let (samehost, sameRecord) = try await Self.channel(services, domain: "moved-\(UUID().uuidString.prefix(6).lowercased()).test")
        let (wrong, _) = try await Self.channel(services, domain: "wrong-\(UUID().uuidString.prefix(6).lowercased()).test")
        try await Self.withWebHost({ router, host in
            router.get(".well-known/keyward-domain-verification/:token") { request, context -> Response in
                host.record(request)
                let authority = request.head.authority ?? ""
                if authority.hasPrefix("redirect-") { return .redirect(to: "http://attacker.example/\(try context.parameters.require("token"))") }
                if authority.hasPrefix("moved-") { return .redirect(to: "/final/\(try context.parameters.require("token"))") }
                return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "kwv_not_the_token")))
            }
            router.get("final/:token") { request, context -> String in
                host.record(request)
                return try context.parameters.require("token")
            }
        }) { port, host in
            let checks = services.domainVerifications.using(
                checker: NetworkDomainChecker(resolver: resolver, policy: loopback, httpPort: port, timeout: Self.answerTimeout)
            )
            let redirected = try #require(try await checks.checkChannel(merchantID: nil, mode: nil, channelID: elsewhere.id).first)
            #expect(redirected.status == .failed && redirected.lastError?.contains("redirected to another host") == true, "\(redirected)")
            #expect(!host.requests.withLock { $0 }.contains { $0.contains("attacker") })
            let other = try #require(try await checks.checkChannel(merchantID: nil, mode: nil, channelID: wrong.id).first)
            #expect(other.status == .failed && other.lastError?.contains("something other than the token") == true, "\(other)")
            // A redirect on the same host is followed.
            let moved = try #require(try await checks.checkChannel(merchantID: nil, mode: nil, channelID: samehost.id).first)
            #expect(moved.status == .verified, "\(moved)")
            #expect(host.requests.withLock { $0 }.contains("\(sameRecord.domain):\(port) /final/\(sameRecord.token)"))
        }
    }

    @Test func aVerifiedDomainIsRecheckedAndLapsesAfterThreeFailuresOverADay() async throws {
        let dns = try await ChallengeDNS.start()
        defer { dns.stop() }
        let pki = try TestPKI()
        let clock = TestClock()
        let settings = try Harness.isolatedSettings { $0.verificationDNSResolver = try? DNSServerAddress(parsing: dns.address) }
        let services = try await Harness.services(settings, clock: clock.clock)
        let tenant = try await Harness.tenant(services)
        let upload = try await services.certificates.upload(
            merchantID: tenant.merchant.id,
            mode: .live,
            type: .ssl,
            name: nil,
            files: [try pki.bytes("leaf.crt"), try pki.bytes("inter.crt"), try pki.bytes("leaf.key")]
        )
        let channel = try await services.channels.create(
            merchantID: tenant.merchant.id,
            mode: .live,
            name: "Shop",
            domains: ["shop.example"],
            sslMode: .uploaded,
            certificateID: upload.info.id
        )
        let token = try #require(
            try await services.domainVerifications.records(merchantID: tenant.merchant.id, domains: ["shop.example"]).first?.token
        )
        try await dns.setTXT("_keyward-challenge.shop.example", token)
        #expect(try await services.domainVerifications.runDueChecks().verified == 1, "the background check picks up a pending domain")
        #expect(try await services.channels.get(merchantID: nil, mode: nil, id: channel.id).status == "active")
        #expect(try await services.certificates.serving(serverName: "shop.example") != nil)

        // The record is removed: re-checks fail, but a day of failures is needed before it lapses.
        try await dns.clearTXT("_keyward-challenge.shop.example")
        #expect(try await services.domainVerifications.runDueChecks() == .init(), "nothing is due before the re-check interval")
        clock.advance(24 * 3600 + 1)
        var lapsedAfter: [Int] = []
        for attempt in 1...6 {
            let report = try await services.domainVerifications.runDueChecks()
            #expect(report.checked == 1, "attempt \(attempt)")
            if report.lapsed == 1 { lapsedAfter.append(attempt) }
            clock.advance(6 * 3600 + 1)
        }
        #expect(lapsedAfter == [5], "failures at 0, 6, 12, 18 and 24 h: the fifth is three or more failures over a day")
        let record = try #require(try await services.domainVerifications.records(merchantID: tenant.merchant.id, domains: ["shop.example"]).first)
        #expect(record.status == .failed && record.lastError?.contains("no TXT record") == true, "\(record)")
        #expect(try await services.certificates.serving(serverName: "shop.example") == nil, "a lapsed domain is not served")
        let after = try await services.channels.get(merchantID: nil, mode: nil, id: channel.id)
        #expect(after.status == "pending" && after.statusDetail.contains("verification"))
        let kinds = try await services.channels.events(channelID: channel.id).map(\.kind)
        #expect(kinds.filter { $0 == "domain_check_failed" }.count == 4 && kinds.contains("domain_unverified"))
        let audit = try await services.audit.list(merchantID: tenant.merchant.id, limit: 50)
        #expect(audit.contains { $0.action == "domain.verification_lapsed shop.example" && $0.actorType == "system" })

        // Publishing the record again brings it back on the next retry.
        try await dns.setTXT("_keyward-challenge.shop.example", token)
        clock.advance(3601)
        #expect(try await services.domainVerifications.runDueChecks().verified == 1)
        #expect(try await services.channels.get(merchantID: nil, mode: nil, id: channel.id).status == "active")
    }

    @Test func aNameThatPointsAtKeywardCannotBeVerifiedByHTTP() async throws {
        // The attack of the issue: the name already resolves to Keyward. Keyward itself never answers
        // the verification path, so only the name's real owner (DNS, or their own web server) can.
        let dns = try await ChallengeDNS.start()
        defer { dns.stop() }
        let resolver = try DNSServerAddress(parsing: dns.address)
        let services = try await Harness.services(try Harness.isolatedSettings { $0.verificationDNSResolver = resolver })
        let (channel, _) = try await Self.channel(services, domain: "victim-\(UUID().uuidString.prefix(6).lowercased()).test")
        let keyward = Application(
            router: buildRouter(services, listener: .plainHTTP),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            logger: Harness.logger
        )
        try await keyward.test(.live) { client in
            let port = try #require(client.port)
            let checks = services.domainVerifications.using(
                checker: NetworkDomainChecker(
                    resolver: resolver,
                    policy: OutboundAddressPolicy(allowedNetworks: [try IPNetwork(parsing: "127.0.0.0/8")]),
                    httpPort: port,
                    timeout: Self.answerTimeout
                )
            )
            let record = try #require(try await checks.checkChannel(merchantID: nil, mode: nil, channelID: channel.id).first)
            #expect(record.status == .failed && record.lastError?.contains("answered HTTP 404") == true, "\(record)")
        }
    }

    /// Proves every domain (after a moment, so checks overlap).
    struct AlwaysVerified: DomainControlChecker {
        func check(domain: String, token: String) async -> DomainCheckResult {
            try? await Task.sleep(for: .milliseconds(5))
            return .verified(by: .dns)
        }
    }

    @Test func domainsOfOneChannelVerifiedAtOnceStillScheduleItsOrder() async throws {
        // Each domain's verification is its own transaction; each looks at the others to decide whether
        // the channel may be ordered. Run at once, neither may miss the other.
        let settings = try Harness.isolatedSettings()
        let services = try await Harness.services(settings)
        let tenant = try await Harness.tenant(services)
        let checks = services.domainVerifications.using(checker: AlwaysVerified())
        for round in 0..<5 {
            let domains = (0..<4).map { "r\(round)-\($0)-\(UUID().uuidString.prefix(6).lowercased()).example" }
            let channel = try await services.channels.create(
                merchantID: tenant.merchant.id,
                mode: .live,
                name: "c\(round)",
                domains: domains,
                sslMode: .managed,
                certificateID: nil
            )
            #expect(try await checks.checkChannel(merchantID: nil, mode: nil, channelID: channel.id).allSatisfy(\.isVerified))
            let after = try await services.channels.get(merchantID: nil, mode: nil, id: channel.id)
            #expect(
                after.nextAttempt != nil && after.statusDetail == "Waiting for the first certificate order.",
                "round \(round): \(after.statusDetail)"
            )
        }
    }

    /// Counts checks per domain and fails them all.
    final class CountingChecker: DomainControlChecker {
        let counts = Mutex<[String: Int]>([:])
        func check(domain: String, token: String) async -> DomainCheckResult {
            counts.withLock { $0[domain, default: 0] += 1 }
            try? await Task.sleep(for: .milliseconds(20))
            return .failed(["counted"])
        }
    }

    @Test func twoInstancesNeverCheckTheSameDomainTwiceInOnePass() async throws {
        let settings = try Harness.isolatedSettings()
        let one = try await Harness.services(settings)
        let two = try await Harness.services(settings)
        let tenant = try await Harness.tenant(one)
        let domains = (0..<30).map { "d\($0)-\(UUID().uuidString.prefix(6).lowercased()).example" }
        for chunk in stride(from: 0, to: domains.count, by: 10) {
            _ = try await one.channels.create(
                merchantID: tenant.merchant.id,
                mode: .live,
                name: "c\(chunk)",
                domains: Array(domains[chunk..<chunk + 10]),
                sslMode: .managed,
                certificateID: nil
            )
        }
        let checker = CountingChecker()
        async let a = one.domainVerifications.using(checker: checker).runDueChecks(limit: 7, concurrency: 3)
        async let b = two.domainVerifications.using(checker: checker).runDueChecks(limit: 7, concurrency: 3)
        let reports = try await [a, b]
        let counts = checker.counts.withLock { $0 }
        #expect(Set(counts.keys) == Set(domains) && counts.values.allSatisfy { $0 == 1 }, "\(counts)")
        #expect(reports.map(\.checked).reduce(0, +) == domains.count)
    }
}
