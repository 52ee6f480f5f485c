import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KeywardCore
import KeywardCrypto
import KeywardServer
import KeywardTestSupport
import Testing

/// Finding 4, "anyone can claim any host name": each test is an attack. A channel serves nothing on a
/// domain (SNI certificate, ACME answer, Apple Pay file) until its merchant proved control; the
/// server's own names and the operator's deny list cannot be claimed; a verified domain is one
/// merchant's; every spelling of a name is one name.
@Suite(.closesStores) struct DomainVerificationTests {
    static func json(_ object: [String: Any]) -> String {
        String(decoding: (try? JSONSerialization.data(withJSONObject: object)) ?? Data(), as: UTF8.self)
    }

    /// A self-signed certificate (with its key) for `names`, as an attacker would make it.
    static func selfSigned(_ pki: TestPKI, _ file: String, names: [String]) throws -> [UInt8] {
        try pki.keys.openssl([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", pki.path("\(file).key"),
            "-out", pki.path("\(file).crt"), "-subj", "/CN=\(names[0])", "-days", "30",
            "-addext", "subjectAltName=" + names.map { "DNS:\($0)" }.joined(separator: ","),
        ])
        return try pki.bytes("\(file).crt") + pki.bytes("\(file).key")
    }

    /// What the HTTPS listener presents for `serverName` (subject and issuer lines).
    static func served(port: Int, serverName: String) async throws -> String {
        try await Shell.runDetached(
            "/bin/sh",
            [
                "-c",
                "openssl s_client -connect 127.0.0.1:\(port) -servername \(serverName) </dev/null 2>/dev/null | openssl x509 -noout -subject -issuer",
            ]
        )
    }

    @Test func anUploadedSelfSignedCertificateForTheServersOwnHostnameCannotBecomeAChannel() async throws {
        let pki = try TestPKI()
        let settings = Harness.settings { $0.hostnames = ["keyward.example", "api.pay.example"] }
        let services = try await Harness.services(settings)
        let attacker = try await Harness.tenant(services)
        let files = try Self.selfSigned(pki, "own", names: ["keyward.example", "*.pay.example", "shop.example"])
        let upload = try await services.certificates.upload(merchantID: attacker.merchant.id, mode: .live, type: .ssl, name: nil, files: [files])
        _ = try await Harness.app(settings).test(.router) { client in
            for domains in [["keyward.example"], ["KEYWARD.example."], ["shop.example", "keyward.example"]] {
                try await client.call(
                    .post,
                    "/v1/manage/channels",
                    key: attacker.liveKey.secret,
                    json: Self.json(["name": "Mine", "domains": domains, "ssl_mode": "uploaded", "certificate_id": upload.info.id])
                ) {
                    $0.expectProblem(.forbidden, "domain_reserved")
                }
            }
            // A wildcard is refused when it covers the server's own name.
            try await client.call(
                .post,
                "/v1/manage/channels",
                key: attacker.liveKey.secret,
                json: Self.json(["name": "Mine", "domains": ["*.pay.example"], "ssl_mode": "uploaded", "certificate_id": upload.info.id])
            ) {
                $0.expectProblem(.forbidden, "domain_reserved")
            }
            try await client.call(
                .post,
                "/v1/manage/channels",
                key: attacker.liveKey.secret,
                json: Self.json(["name": "Mine", "domains": ["keyward.example"], "ssl_mode": "managed"])
            ) {
                $0.expectProblem(.forbidden, "domain_reserved")
            }
            // The CLI's path refuses it too, and so does an operator's vouching.
            await #expect {
                _ = try await services.channels.create(
                    merchantID: attacker.merchant.id,
                    mode: .live,
                    name: "x",
                    domains: ["keyward.example"],
                    sslMode: .managed,
                    certificateID: nil
                )
            } throws: { ($0 as? KeywardError)?.code.rawValue == "domain_reserved" }
        }
        #expect(try await services.channels.list(merchantID: attacker.merchant.id, mode: .live).isEmpty)
    }

    @Test func operatorDeniedNamesCannotBeClaimed() async throws {
        let settings = Harness.settings { $0.reservedDomains = ["status.example", "*.internal.example"] }
        let services = try await Harness.services(settings)
        let tenant = try await Harness.tenant(services)
        for domain in ["status.example", "Status.Example.", "db.internal.example", "a.b.internal.example", "*.internal.example"] {
            await #expect("\(domain)") {
                _ = try await services.channels.create(
                    merchantID: tenant.merchant.id,
                    mode: .test,
                    name: "x",
                    domains: [domain],
                    sslMode: domain.hasPrefix("*") ? .uploaded : .managed,
                    certificateID: domain.hasPrefix("*") ? "crt_0000000000000000000000" : nil
                )
            } throws: { ($0 as? KeywardError)?.code.rawValue == "domain_reserved" }
        }
        // Names beside the reserved ones are fine.
        _ = try await services.channels.create(
            merchantID: tenant.merchant.id,
            mode: .test,
            name: "ok",
            domains: ["internal.example", "www.status.example"],
            sslMode: .managed,
            certificateID: nil
        )
        // A malformed deny list stops the server rather than protecting nothing.
        #expect(throws: (any Error).self) { try Settings.resolve(flags: ["reserved_domains": "ok.example,not a name"], environment: [:]) }
    }

    @Test func anUnverifiedUploadedChannelIsNotServedBySNIUntilItsTXTRecordIsPublished() async throws {
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
        _ = try await Harness.app(settings, clock: clock.clock).test(.live) { client in
            let port = try #require(client.port)
            // The API over the same HTTPS listener (curl trusting the local CA), so a verification is
            // seen by this listener's SNI at once.
            func call(_ path: String, _ body: String? = nil) async throws -> (status: Int, json: [String: Any], text: String) {
                let output = try await Shell.runDetached(
                    "/usr/bin/curl",
                    [
                        "-s", "--cacert", settings.dataDirectory + "/ca.pem", "-w", "\n%{http_code}", "-X", "POST",
                        "-H", "Authorization: Bearer \(tenant.liveKey.secret)", "-H", "Content-Type: application/json",
                        "-d", body ?? "{}", "https://127.0.0.1:\(port)\(path)",
                    ]
                )
                let text = output.split(separator: "\n").dropLast().joined(separator: "\n")
                return (
                    Int(output.split(separator: "\n").last ?? "") ?? 0,
                    (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]) ?? [:], text
                )
            }
            let created = try await call(
                "/v1/manage/channels",
                Self.json([
                    "name": "Shop", "domains": ["shop.example", "www.shop.example"], "ssl_mode": "uploaded", "certificate_id": upload.info.id,
                ])
            )
            #expect(created.status == 201, "\(created.text)")
            #expect(created.json["status"] as? String == "pending")
            let id = try #require(created.json["id"] as? String)
            let verification = try #require((created.json["domain_verification"] as? [[String: Any]])?.first)
            let token = try #require((verification["dns"] as? [String: Any])?["value"] as? String)
            #expect(verification["status"] as? String == "pending")
            #expect((verification["dns"] as? [String: Any])?["name"] as? String == "_keyward-challenge.shop.example")
            #expect(
                (verification["http"] as? [String: Any])?["url"] as? String == "http://shop.example/.well-known/keyward-domain-verification/\(token)"
            )

            // Claimed but unproven: the listener presents its own certificate, not the uploaded one.
            #expect(try await Self.served(port: port, serverName: "shop.example").contains("Keyward"))

            // A TXT record with another value proves nothing.
            try await dns.setTXT("_keyward-challenge.shop.example", "kwv_somebody_elses_token")
            let wrong = try await call("/v1/manage/channels/\(id)/verify")
            let wrongState = try #require((wrong.json["domain_verification"] as? [[String: Any]])?.first)
            #expect(wrong.status == 200 && wrongState["status"] as? String == "failed", "\(wrong.text)")
            #expect((wrongState["last_error"] as? String)?.contains("do not hold the token") == true, "\(wrongState)")
            #expect(try await Self.served(port: port, serverName: "shop.example").contains("Keyward"))

            // The right value: served at once (the next handshake), for that name only.
            try await dns.setTXT("_keyward-challenge.shop.example", token)
            clock.advance(11)
            let right = try await call("/v1/manage/channels/\(id)/verify")
            let states = try #require(right.json["domain_verification"] as? [[String: Any]])
            #expect(states.map { $0["status"] as? String } == ["verified", "failed"], "\(right.text)")
            #expect(states.first?["method"] as? String == "dns")
            #expect(try await Self.served(port: port, serverName: "shop.example").contains("Test Intermediate"))
            #expect(try await Self.served(port: port, serverName: "www.shop.example").contains("Keyward"))
            #expect(right.json["status"] as? String == "pending", "one domain is still unverified")
            let events = try await services.channels.events(channelID: id).map(\.kind)
            #expect(events.contains("domain_verified"))
        }
    }

    /// GETs `path` from a plain-HTTP listener of `services` with the Host header `host`: (status, body).
    static func fetch(_ services: KeywardServices, _ path: String, hosts: [String?]) async throws -> [(Int, String)] {
        let app = Application(
            router: buildRouter(services, listener: .plainHTTP),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            logger: Harness.logger
        )
        return try await app.test(.live) { client in
            let url = "http://127.0.0.1:\(try #require(client.port))\(path)"
            var results: [(Int, String)] = []
            for host in hosts {
                // curl sends "Host: 127.0.0.1:port" when none is given.
                let output = try await Shell.runDetached(
                    "/usr/bin/curl",
                    ["-s", "-w", "\n%{http_code}"] + (host.map { ["-H", "Host: \($0)"] } ?? []) + [url]
                )
                let status = Int(output.split(separator: "\n").last ?? "") ?? 0
                results.append((status, String(output.split(separator: "\n").dropLast().joined(separator: "\n"))))
            }
            return results
        }
    }

    @Test func anACMEChallengeAnswerIsServedOnlyOnTheDomainItWasMadeFor() async throws {
        let services = try await Harness.services(Harness.settings())
        try await services.acmeState.publishChallenge(token: "tok_abc", keyAuthorization: "tok_abc.thumb", domain: "shop.example")
        let results = try await Self.fetch(
            services,
            "/.well-known/acme-challenge/tok_abc",
            hosts: ["SHOP.example.:80", "shop.example", "attacker.example", "keyward.example", nil]
        )
        #expect(results.map(\.0) == [200, 200, 404, 404, 404], "\(results)")
        #expect(results[0].1 == "tok_abc.thumb")
    }

    @Test func theApplePayFileIsNotServedOnAnUnverifiedDomain() async throws {
        let settings = try Harness.isolatedSettings()
        let services = try await Harness.services(settings)
        let tenant = try await Harness.tenant(services)
        let channel = try await services.channels.create(
            merchantID: tenant.merchant.id,
            mode: .live,
            name: "Shop",
            domains: ["pay.shop.example"],
            sslMode: .managed,
            certificateID: nil
        )
        try await services.domainAssociations.set(merchantID: tenant.merchant.id, content: Array("7b2270737049".utf8))
        let path = "/.well-known/apple-developer-merchantid-domain-association"
        #expect(try await Self.fetch(services, path, hosts: ["pay.shop.example"]).map(\.0) == [404])
        _ = try await services.domainVerifications.force(channelID: channel.id, actor: AuditActor(type: "operator", id: "test"))
        let served = try await Self.fetch(services, path, hosts: ["pay.shop.example", "other.example"])
        #expect(served.map(\.0) == [200, 404] && served[0].1 == "7b2270737049", "\(served)")
    }

    @Test func aDomainAnotherMerchantVerifiedCannotBeClaimedOrVerified() async throws {
        let dns = try await ChallengeDNS.start()
        defer { dns.stop() }
        let settings = try Harness.isolatedSettings { $0.verificationDNSResolver = try? DNSServerAddress(parsing: dns.address) }
        let services = try await Harness.services(settings)
        let owner = try await Harness.tenant(services)
        let rival = try await Harness.tenant(services)
        let third = try await Harness.tenant(services)
        // Unverified claims coexist: claiming first blocks nobody.
        let ownerChannel = try await services.channels.create(
            merchantID: owner.merchant.id,
            mode: .live,
            name: "A",
            domains: ["contested.example"],
            sslMode: .managed,
            certificateID: nil
        )
        let rivalChannel = try await services.channels.create(
            merchantID: rival.merchant.id,
            mode: .live,
            name: "B",
            domains: ["contested.example"],
            sslMode: .managed,
            certificateID: nil
        )
        // Both tokens are published (the domain changed hands, say): both race to verify, one wins.
        for channel in [ownerChannel, rivalChannel] {
            let token = try #require(
                try await services.domainVerifications.records(merchantID: channel.merchantID, domains: channel.domains).first?.token
            )
            try await dns.setTXT("_keyward-challenge.contested.example", token)
        }
        async let first = services.domainVerifications.checkChannel(merchantID: owner.merchant.id, mode: .live, channelID: ownerChannel.id)
        async let second = services.domainVerifications.checkChannel(merchantID: rival.merchant.id, mode: .live, channelID: rivalChannel.id)
        let outcomes = try await [first, second].map { $0.first?.status }
        #expect(outcomes.filter { $0 == .verified }.count == 1, "\(outcomes)")
        let loser = outcomes[0] == .verified ? rivalChannel : ownerChannel
        let lost = try #require(try await services.domainVerifications.records(merchantID: loser.merchantID, domains: loser.domains).first)
        #expect(lost.status == .failed && lost.lastError?.contains("verified by another merchant") == true, "\(lost)")
        // Checking again changes nothing; a new claim by a third merchant is refused; so is an operator's vouching.
        #expect(try await services.domainVerifications.checkChannel(merchantID: nil, mode: nil, channelID: loser.id).first?.status == .failed)
        await #expect {
            _ = try await services.channels.create(
                merchantID: third.merchant.id,
                mode: .live,
                name: "C",
                domains: ["Contested.Example."],
                sslMode: .managed,
                certificateID: nil
            )
        } throws: { ($0 as? KeywardError)?.code.rawValue == "domain_taken" }
        await #expect {
            _ = try await services.domainVerifications.force(channelID: loser.id, actor: AuditActor(type: "operator", id: "test"))
        } throws: { ($0 as? KeywardError)?.code.rawValue == "domain_taken" }
    }

    @Test func everySpellingOfAnInternationalNameIsOneDomain() async throws {
        let settings = try Harness.isolatedSettings()
        let services = try await Harness.services(settings)
        let owner = try await Harness.tenant(services)
        let other = try await Harness.tenant(services)
        let verified = try await services.channels.create(
            merchantID: owner.merchant.id,
            mode: .live,
            name: "Books",
            domains: ["xn--bcher-kva.example"],
            sslMode: .managed,
            certificateID: nil
        )
        _ = try await services.domainVerifications.force(channelID: verified.id, actor: AuditActor(type: "operator", id: "test"))
        for spelling in ["BÜCHER.example.", "bücher.example", "XN--BCHER-KVA.EXAMPLE"] {
            await #expect("\(spelling)") {
                _ = try await services.channels.create(
                    merchantID: other.merchant.id,
                    mode: .live,
                    name: "x",
                    domains: [spelling],
                    sslMode: .managed,
                    certificateID: nil
                )
            } throws: { ($0 as? KeywardError)?.code.rawValue == "domain_taken" }
        }
        // The owner's own second claim of it is refused too, and the stored name is the A-label.
        await #expect {
            _ = try await services.channels.create(
                merchantID: owner.merchant.id,
                mode: .test,
                name: "x",
                domains: ["Bücher.example"],
                sslMode: .managed,
                certificateID: nil
            )
        } throws: { ($0 as? KeywardError)?.code.rawValue == "domain_taken" }
        #expect(verified.domains == ["xn--bcher-kva.example"])
    }

    @Test func anAPICallerCannotSkipVerificationNorCheckAnotherMerchantsChannel() async throws {
        let settings = Harness.settings()
        let services = try await Harness.services(settings)
        let tenant = try await Harness.tenant(services)
        let other = try await Harness.tenant(services)
        let channel = try await services.channels.create(
            merchantID: tenant.merchant.id,
            mode: .test,
            name: "Shop",
            domains: ["skip.example"],
            sslMode: .managed,
            certificateID: nil
        )
        let reader = try await services.secretKeys.create(
            merchantID: tenant.merchant.id,
            mode: .test,
            options: .init(permissions: ["certificates.read"]),
            by: .platformOperator
        )
        _ = try await Harness.app(settings).test(.router) { client in
            for body in [#"{"force":true}"#, #"{"method":"operator"}"#, #"{"status":"verified"}"#] {
                try await client.call(.post, "/v1/manage/channels/\(channel.id)/verify", key: tenant.testKey.secret, json: body) {
                    $0.expectProblem(.badRequest, "unknown_field")
                }
            }
            try await client.call(.post, "/v1/manage/channels/\(channel.id)/verify", key: reader.secret) {
                $0.expectProblem(.forbidden, "insufficient_permissions")
            }
            try await client.call(.post, "/v1/manage/channels/\(channel.id)/verify", key: other.testKey.secret) {
                $0.expectProblem(.notFound, "resource_missing")
            }
            try await client.call(.post, "/v1/manage/channels/\(channel.id)/verify", key: tenant.liveKey.secret) {
                $0.expectProblem(.notFound, "resource_missing")
            }
            // Without a resolver the check runs and says why it failed; nothing is verified.
            let checked = try await client.call(.post, "/v1/manage/channels/\(channel.id)/verify", key: tenant.testKey.secret)
            let state = try #require((checked.json["domain_verification"] as? [[String: Any]])?.first)
            #expect(
                state["status"] as? String == "failed" && (state["last_error"] as? String)?.contains("verification_dns_resolver") == true,
                "\(checked.text)"
            )
            try await client.call(.post, "/v1/manage/channels/\(channel.id)/renew", key: tenant.testKey.secret) {
                $0.expectProblem(.conflict, "domain_not_verified")
            }
        }
    }
}
