import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KeywardCore
import KeywardCrypto
import KeywardDialects
import KeywardServer
import Testing

/// RFC 9421 signed requests are one of `ProviderVerification`'s dialects (`httpSignature`): the gateway
/// (`HTTPSignatureAuthenticator`) and the owner's diagnosis run the same steps, so for each attack the
/// gateway refuses exactly when the diagnosis shows a step failing, with that step's code.
@Suite(.closesStores) struct RFC9421VerificationAgreementTests {
    /// A signed request as the client sends it to `https://localhost` + `path`.
    struct Signed {
        var method = "POST"
        var path = "/v1/auth/test"
        var body = ""
        var headers: [(name: String, value: String)] = []
    }

    /// Signs `body` as `keyID` with `key`; every parameter can be bent the way an attacker or a broken
    /// client would.
    static func sign(
        _ body: String = #"{"amount":"1.00"}"#,
        key: Curve25519.Signing.PrivateKey,
        keyID: String,
        created: Int,
        components: [String]? = nil,
        nonce: String? = UUID().uuidString,
        algorithm: HTTPSignatureAlgorithm? = .ed25519,
        sentBody: String? = nil
    ) throws -> Signed {
        var fields: [(name: String, value: String)] = []
        var covered = ["@method", "@target-uri"]
        if !body.isEmpty {
            fields.append(("Content-Digest", ContentDigest.make(for: Array(body.utf8))))
            covered.append("content-digest")
        }
        let view = HTTPRequestView(method: "POST", scheme: "https", authority: "localhost", path: "/v1/auth/test", query: nil, fields: fields)
        let input = SignatureInput.make(components: components ?? covered, created: created, nonce: nonce, keyID: keyID, algorithm: algorithm)
        let signature = try HTTPSigningKey.ed25519(key).sign(try HTTPMessageSignatures.signatureBase(for: view, input: input))
        fields.append(("Signature-Input", input.headerValue))
        fields.append(("Signature", "\(input.label)=:\(Data(signature).base64EncodedString()):"))
        return Signed(body: sentBody ?? body, headers: fields)
    }

    /// What the gateway answered for `request`, and what the owner's diagnosis of the same request says.
    static func verdicts(
        _ request: Signed,
        client: some TestClientProtocol,
        diagnosedBy secret: String
    ) async throws
        -> ProviderVerificationAgreementTests.Verdicts
    {
        // The diagnosis first: it only looks the nonce up, the gateway uses it.
        let diagnosed = try await client.call(
            .post,
            "/v1/auth/diagnose",
            key: secret,
            json: try ProviderGatewayTests.json([
                "dialect": "rfc9421", "body": request.body, "method": request.method, "url": "https://localhost\(request.path)",
                "headers": Dictionary(request.headers.map { ($0.name, $0.value) }, uniquingKeysWith: { $1 }),
            ])
        )
        #expect(diagnosed.status == .ok, "\(diagnosed.text)")
        var fields: HTTPFields = [.contentType: "application/json"]
        for header in request.headers { fields[HTTPField.Name(header.name)!] = header.value }
        let gateway = try await client.execute(uri: request.path, method: .post, headers: fields, body: ByteBuffer(string: request.body)) { $0 }
        let (valid, stepCode) = ProviderVerificationAgreementTests.diagnosis(diagnosed)
        return .init(
            gatewayStatus: gateway.status,
            gatewayCode: gateway.status == .ok ? nil : gateway.json["code"] as? String,
            diagnosisValid: valid,
            diagnosisStepCode: stepCode,
            text: "gateway \(gateway.text) diagnosis \(diagnosed.text)"
        )
    }

    /// Attack requests, each judged by the gateway and diagnosed by the key's owner. Before RFC 9421 was
    /// a `ProviderVerification` dialect the two disagreed on four of them: a key past its expiry (the
    /// gateway said `key_expired`, the diagnosis "valid"), a `Signature-Input` without a `Signature`
    /// naming an unknown key (`signature_missing` against `unknown_key_index`), one without a `keyid`
    /// and one that does not parse (`signature_invalid` against `signature_missing`).
    @Test func gatewayAndDiagnosisAgreeOnAttackRequests() async throws {
        let settings = Harness.settings()
        let testClock = TestClock()
        let services = try await Harness.services(settings, clock: testClock.clock)
        let tenant = try await Harness.tenant(services)
        let other = try await Harness.tenant(services)
        let owner = tenant.merchant.id
        func register(
            _ key: Curve25519.Signing.PrivateKey,
            merchant: String? = nil,
            limits: RequestedLimits = RequestedLimits()
        ) async throws
            -> String
        {
            try await services.signingKeys.register(
                merchantID: merchant ?? owner,
                mode: .test,
                name: "backend",
                pem: VerificationKey.ed25519(key.publicKey).spkiPEM,
                limits: limits,
                by: .platformOperator
            ).id
        }
        let signer = Curve25519.Signing.PrivateKey()
        let stranger = Curve25519.Signing.PrivateKey()
        let retired = Curve25519.Signing.PrivateKey()
        let shortLived = Curve25519.Signing.PrivateKey()
        let good = try await register(signer)
        let revoked = try await register(retired)
        _ = try await services.signingKeys.revoke(merchantID: owner, mode: .test, id: revoked)
        let expiring = try await register(shortLived, limits: RequestedLimits(expiresAt: testClock.clock.now().addingTimeInterval(3600)))
        let theirs = try await register(stranger, merchant: other.merchant.id)
        await services.store.shutdown()

        let app = try await Harness.app(settings, clock: testClock.clock)
        _ = try await app.test(.router) { client in
            let ownerSecret = tenant.testKey.secret
            func judge(_ label: String, _ request: Signed, expected code: String?, by secret: String? = nil) async throws {
                try await Self.verdicts(request, client: client, diagnosedBy: secret ?? ownerSecret).expectAgreement(label, expected: code)
            }
            let now = Int(testClock.clock.now().timeIntervalSince1970)
            try await judge("valid", try Self.sign(key: signer, keyID: good, created: now), expected: nil)
            try await judge("forged signature", try Self.sign(key: stranger, keyID: good, created: now), expected: "signature_invalid")
            try await judge("unknown key id", try Self.sign(key: signer, keyID: "sgk_doesnotexist", created: now), expected: "unknown_key_index")
            try await judge(
                "another merchant's key, diagnosed by its owner",
                try Self.sign(key: stranger, keyID: theirs, created: now),
                expected: nil,
                by: other.testKey.secret
            )
            try await judge("revoked key", try Self.sign(key: retired, keyID: revoked, created: now), expected: "unknown_key_index")
            try await judge("key before its expiry", try Self.sign(key: shortLived, keyID: expiring, created: now), expected: nil)
            try await judge("stale created", try Self.sign(key: signer, keyID: good, created: now - 301), expected: "signature_expired")
            try await judge("created in the future", try Self.sign(key: signer, keyID: good, created: now + 400), expected: "signature_expired")
            try await judge("no nonce", try Self.sign(key: signer, keyID: good, created: now, nonce: nil), expected: "signature_invalid")
            try await judge(
                "algorithm that does not fit the key",
                try Self.sign(key: signer, keyID: good, created: now, algorithm: .ecdsaP256SHA256),
                expected: "algorithm_not_allowed"
            )
            try await judge(
                "content-digest not covered",
                try Self.sign(key: signer, keyID: good, created: now, components: ["@method", "@target-uri"]),
                expected: "signature_invalid"
            )
            try await judge(
                "body changed after signing",
                try Self.sign(key: signer, keyID: good, created: now, sentBody: #"{"amount":"9.00"}"#),
                expected: "digest_mismatch"
            )
            var unsigned = try Self.sign(key: signer, keyID: "sgk_doesnotexist", created: now)
            unsigned.headers.removeAll { $0.name == "Signature" }
            try await judge("Signature-Input without Signature, unknown key", unsigned, expected: "signature_missing")
            var anonymous = try Self.sign(key: signer, keyID: good, created: now)
            anonymous.headers = anonymous.headers.map {
                $0.name == "Signature-Input" ? ($0.name, #"sig1=("@method" "@target-uri" "content-digest");created=\#(now);nonce="n""#) : $0
            }
            try await judge("no keyid", anonymous, expected: "signature_invalid")
            var garbled = try Self.sign(key: signer, keyID: good, created: now)
            garbled.headers = garbled.headers.map { $0.name == "Signature-Input" ? ($0.name, "sig1=(((") : $0 }
            try await judge("Signature-Input that does not parse", garbled, expected: "signature_invalid")

            // A replayed nonce: accepted once by the gateway, then refused by both.
            let once = try Self.sign(key: signer, keyID: good, created: now)
            var fields: HTTPFields = [.contentType: "application/json"]
            for header in once.headers { fields[HTTPField.Name(header.name)!] = header.value }
            let accepted = try await client.execute(uri: once.path, method: .post, headers: fields, body: ByteBuffer(string: once.body)) { $0 }
            #expect(accepted.status == .ok, "\(accepted.text)")
            try await judge("replayed nonce", once, expected: "replayed_request")

            // Expired: the same key, an hour and a minute later.
            testClock.advance(3660)
            let later = Int(testClock.clock.now().timeIntervalSince1970)
            try await judge("key past its expiry", try Self.sign(key: shortLived, keyID: expiring, created: later), expected: "key_expired")
        }
    }

    /// The caller's address is the one step the diagnosis cannot judge (a pasted request comes from
    /// nowhere): a key limited to a network is refused by the gateway from elsewhere (`ip_not_allowed`),
    /// and the diagnosis, which passes every other step, says which networks the gateway will accept.
    /// The Core run for the gateway fails exactly at `origin`, and passes from inside the network.
    @Test func aKeyLimitedToANetworkIsJudgedByTheOriginStep() async throws {
        let settings = Harness.settings()
        let services = try await Harness.services(settings)
        let tenant = try await Harness.tenant(services)
        let signer = Curve25519.Signing.PrivateKey()
        let office = try await services.signingKeys.register(
            merchantID: tenant.merchant.id,
            mode: .test,
            name: "office",
            pem: VerificationKey.ed25519(signer.publicKey).spkiPEM,
            limits: RequestedLimits(allowedIPs: ["10.0.0.0/8"]),
            by: .platformOperator
        ).id
        let verification = ProviderVerification(directory: services.storeDirectory, signingKeys: services.signingKeys, clock: services.clock)
        func run(_ signed: Signed, from address: [UInt8]) async throws -> ProviderVerificationRun {
            let view = HTTPRequestView(method: "POST", scheme: "https", authority: "localhost", path: signed.path, query: nil, fields: signed.headers)
            return try await verification.httpSignature(request: view, expectsBody: true, audience: .gateway(mode: nil, clientAddress: address)) {
                Array(signed.body.utf8)
            }
        }
        let now = Int(Date().timeIntervalSince1970)
        let outside = try await run(try Self.sign(key: signer, keyID: office, created: now), from: [192, 0, 2, 1])
        #expect(outside.failure?.step == "origin")
        #expect(outside.failure?.error.code == .ipNotAllowed)
        #expect(outside.steps.dropLast().allSatisfy { $0.passed })
        let inside = try await run(try Self.sign(key: signer, keyID: office, created: now), from: [10, 1, 2, 3])
        #expect(inside.verified, "\(inside.steps)")
        await services.store.shutdown()

        let app = try await Harness.app(settings)
        _ = try await app.test(.router) { client in
            // The router test has no peer address, like a call from an unknown network.
            let verdicts = try await Self.verdicts(
                try Self.sign(key: signer, keyID: office, created: now),
                client: client,
                diagnosedBy: tenant.testKey.secret
            )
            #expect(verdicts.gatewayStatus == .forbidden && verdicts.gatewayCode == "ip_not_allowed", "\(verdicts.text)")
            #expect(verdicts.diagnosisValid, "\(verdicts.text)")
            #expect(verdicts.text.contains("10.0.0.0/8"), "\(verdicts.text)")
        }
    }

    /// The body is the caller's to send only once the headers passed: a forged signature is refused
    /// without the body being asked for, and a well-signed body over `max_body_bytes` is refused (413)
    /// rather than buffered.
    @Test func theBodyIsReadOnlyAfterTheHeaderStepsAndWithinTheLimit() async throws {
        let settings = Harness.settings { $0.maxBodyBytes = 1024 }
        let services = try await Harness.services(settings)
        let tenant = try await Harness.tenant(services)
        let signer = Curve25519.Signing.PrivateKey()
        let keyID = try await services.signingKeys.register(
            merchantID: tenant.merchant.id,
            mode: .test,
            name: "backend",
            pem: VerificationKey.ed25519(signer.publicKey).spkiPEM,
            limits: RequestedLimits(),
            by: .platformOperator
        ).id
        let verification = ProviderVerification(directory: services.storeDirectory, signingKeys: services.signingKeys, clock: services.clock)
        let now = Int(Date().timeIntervalSince1970)
        let forged = try Self.sign(key: Curve25519.Signing.PrivateKey(), keyID: keyID, created: now)
        let view = HTTPRequestView(method: "POST", scheme: "https", authority: "localhost", path: forged.path, query: nil, fields: forged.headers)
        var bodyRead = false
        let run = try await verification.httpSignature(request: view, expectsBody: true, audience: .gateway(mode: nil, clientAddress: nil)) {
            bodyRead = true
            return Array(forged.body.utf8)
        }
        #expect(run.failure?.step == "signature" && run.failure?.error.code == .signatureInvalid)
        #expect(!bodyRead)
        await services.store.shutdown()

        let app = try await Harness.app(settings)
        _ = try await app.test(.router) { client in
            let large = try Self.sign(#"{"memo":"\#(String(repeating: "x", count: 2000))"}"#, key: signer, keyID: keyID, created: now)
            var fields: HTTPFields = [.contentType: "application/json"]
            for header in large.headers { fields[HTTPField.Name(header.name)!] = header.value }
            try await client.execute(uri: large.path, method: .post, headers: fields, body: ByteBuffer(string: large.body)) {
                $0.expectProblem(.contentTooLarge, "body_too_large")
            }
        }
    }

    @Test func aReplayedNonceIsRefusedByTheGatewayAndByTheDiagnosis() async throws {
        let settings = Harness.settings()
        let services = try await Harness.services(settings)
        let tenant = try await Harness.tenant(services)
        let (privateKey, registered) = try await Harness.ed25519SigningKey(services, tenant)
        await services.store.shutdown()
        let headers = try ManualSigning.signRFC9421(
            method: "GET",
            url: "https://localhost/v1/auth/test",
            body: [],
            key: .ed25519(privateKey),
            keyID: registered.id,
            created: Int(Date().timeIntervalSince1970),
            nonce: UUID().uuidString
        )
        let app = try await Harness.app(settings)
        _ = try await app.test(.router) { client in
            var fields: HTTPFields = [:]
            for header in headers { fields[HTTPField.Name(header.name)!] = header.value }
            let first = try await client.execute(uri: "/v1/auth/test", method: .get, headers: fields) { $0 }
            #expect(first.status == .ok, "\(first.text)")
            let again = try await client.execute(uri: "/v1/auth/test", method: .get, headers: fields) { $0 }
            again.expectProblem(.unauthorized, "replayed_request")
            let diagnosed = try await client.call(
                .post,
                "/v1/auth/diagnose",
                key: tenant.testKey.secret,
                json: try ProviderGatewayTests.json([
                    "dialect": "rfc9421", "body": "", "method": "GET", "url": "https://localhost/v1/auth/test",
                    "headers": Dictionary(uniqueKeysWithValues: headers.map { ($0.name, $0.value) }),
                ])
            )
            #expect(diagnosed.json["valid"] as? Bool == false, "\(diagnosed.text)")
            #expect(diagnosed.text.contains("replayed_request"), "\(diagnosed.text)")
        }
    }
}
