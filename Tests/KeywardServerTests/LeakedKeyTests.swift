import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KeywardCore
import KeywardCrypto
import KeywardServer
import KeywardTestSupport
import Testing

/// `POST /v1/secret-scanning/reports`: a secret scanner (GitHub's partner program) reports keys found in
/// public; a signed report stops them and tells the merchant, anything else changes nothing. Our own
/// P-256 key stands in for the scanner's.
@Suite(.closesStores) struct LeakedKeyTests {
    /// A scanner: its signing key and the key file the server trusts.
    struct Scanner {
        let key = P256.Signing.PrivateKey()
        let identifier = Hex.encode((0..<32).map { _ in UInt8.random(in: .min ... .max) })
        let file: String

        init() throws {
            file = FileManager.default.temporaryDirectory.appendingPathComponent("scanner-keys-\(UUID().uuidString).json").path
            try Self.writeKeyFile(file, [(identifier, key.publicKey.pemRepresentation)])
        }

        static func writeKeyFile(_ path: String, _ keys: [(String, String)]) throws {
            let entries = keys.map { ["key_identifier": $0.0, "key": $0.1, "is_current": true] as [String: Any] }
            try JSONSerialization.data(withJSONObject: ["public_keys": entries]).write(to: URL(fileURLWithPath: path))
        }

        func sign(_ body: String) throws -> String {
            try key.signature(for: Data(body.utf8)).derRepresentation.base64EncodedString()
        }

        /// Posts `body` signed by this scanner (or with the identifier and signature given).
        @discardableResult
        func report(
            _ client: some TestClientProtocol,
            _ body: String,
            identifier: String? = nil,
            signature: String? = nil
        ) async throws -> TestResponse {
            try await LeakedKeyTests.post(client, body, identifier: identifier ?? self.identifier, signature: signature ?? (try sign(body)))
        }
    }

    static let path = "/v1/secret-scanning/reports"

    static func post(_ client: some TestClientProtocol, _ body: String, identifier: String?, signature: String?) async throws -> TestResponse {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let identifier { headers[HTTPField.Name("GITHUB-PUBLIC-KEY-IDENTIFIER")!] = identifier }
        if let signature { headers[HTTPField.Name("GITHUB-PUBLIC-KEY-SIGNATURE")!] = signature }
        return try await client.execute(uri: path, method: .post, headers: headers, body: ByteBuffer(string: body)) { $0 }
    }

    /// A report body: one `{token, type, url, source}` per token, as GitHub sends it.
    static func body(_ tokens: [String], url: String = "https://github.com/octo/shop/blob/abc123/config.env", source: String = "content") -> String {
        let entries = tokens.map { ["token": $0, "type": "keyward_secret_key", "url": url, "source": source] }
        return String(decoding: (try? JSONSerialization.data(withJSONObject: entries)) ?? Data(), as: UTF8.self)
    }

    static func sha256(_ text: String) -> String { Hex.encode(SHA256.hash(data: Data(text.utf8))) }

    static func feedback(_ response: TestResponse) -> [[String: String]] {
        (try? JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [[String: String]]) ?? []
    }

    /// Every leak row of the merchant, all columns as text (to prove no column holds the token).
    static func leakRows(_ services: KeywardServices, merchantID: String) async throws -> [[String: String]] {
        struct Row: Decodable {
            let id: String, merchant_id: String, mode: String, key_id: String, token_hash: String, token_type: String, source: String, url: String
            let location_hash: String, scanner: String, action: String, expires_ms: Int64?, reported_ms: Int64
        }
        return try await services.store.sql.select().column("*").from("leak_reports").where("merchant_id", .equal, merchantID)
            .all(decoding: Row.self).map {
                [
                    "id": $0.id, "mode": $0.mode, "key_id": $0.key_id, "token_hash": $0.token_hash, "token_type": $0.token_type, "source": $0.source,
                    "url": $0.url, "location_hash": $0.location_hash, "scanner": $0.scanner, "action": $0.action,
                ]
            }
    }

    static func leakAudit(_ services: KeywardServices, merchantID: String) async throws -> [AuditEntry] {
        try await services.audit.list(merchantID: merchantID, action: "key.leaked")
    }

    // MARK: - Attacks on the endpoint

    @Test func forgedUnknownOrMisappliedSignaturesAreRefusedAndRevokeNothing() async throws {
        let scanner = try Scanner()
        let settings = Harness.settings {
            $0.secretScanningKeys = scanner.file
            Harness.loopbackWebhooks(&$0, names: ["shop.example"])
        }
        let services = try await Harness.services(settings)
        let tenant = try await Harness.tenant(services)
        let live = tenant.liveKey.secret
        let body = Self.body([live])
        let forger = P256.Signing.PrivateKey()
        let forged = try forger.signature(for: Data(body.utf8)).derRepresentation.base64EncodedString()
        _ = try await Harness.app(settings).test(.router) { client in
            // No signature at all.
            (try await Self.post(client, body, identifier: nil, signature: nil)).expectProblem(
                .unauthorized,
                "signature_missing",
                notContaining: live
            )
            (try await Self.post(client, body, identifier: scanner.identifier, signature: nil)).expectProblem(.unauthorized, "signature_missing")
            // The forger's own key under an identifier nobody trusts.
            (try await Self.post(client, body, identifier: "forger-key", signature: forged)).expectProblem(
                .unauthorized,
                "unknown_scanner_key",
                notContaining: live
            )
            // The forger's signature under the real scanner's identifier.
            (try await scanner.report(client, body, signature: forged)).expectProblem(.unauthorized, "signature_invalid", notContaining: live)
            // A real signature of another body (a captured harmless report) on this body.
            (try await scanner.report(client, body, signature: try scanner.sign(Self.body(["ghp_notours"])))).expectProblem(
                .unauthorized,
                "signature_invalid"
            )
            // The signed body with one byte more (a trailing newline: the signature covers the exact bytes).
            (try await scanner.report(client, body + "\n", signature: try scanner.sign(body))).expectProblem(.unauthorized, "signature_invalid")
            // Not base64, not DER.
            (try await scanner.report(client, body, signature: "%%%")).expectProblem(.unauthorized, "signature_invalid")
            (try await scanner.report(client, body, signature: Data("not a signature".utf8).base64EncodedString())).expectProblem(
                .unauthorized,
                "signature_invalid"
            )
            // A forged report that is not even JSON is refused for its signature, not parsed.
            (try await Self.post(client, "{not json", identifier: scanner.identifier, signature: forged)).expectProblem(
                .unauthorized,
                "signature_invalid"
            )

            try await client.call(.get, "/v1/auth/test", key: live) { #expect($0.status == .ok) }
        }
        #expect(try await Self.leakRows(services, merchantID: tenant.merchant.id).isEmpty)
        #expect(try await Self.leakAudit(services, merchantID: tenant.merchant.id).isEmpty)
        #expect(try await services.secretKeys.get(merchantID: tenant.merchant.id, mode: .live, id: tenant.liveKey.info.id).revokedAt == nil)
    }

    @Test func aSignedReportRevokesALiveKeyAtOnceAndLabelsEveryToken() async throws {
        let scanner = try Scanner()
        let settings = Harness.settings {
            $0.secretScanningKeys = scanner.file
            Harness.loopbackWebhooks(&$0, names: ["shop.example"])
        }
        let services = try await Harness.services(settings)
        let tenant = try await Harness.tenant(services)
        let live = tenant.liveKey.secret
        // Keyward-shaped with a broken checksum, well-formed but never issued, and someone else's token.
        let last = live.last == "A" ? "B" : "A"
        let badChecksum = String(live.dropLast()) + last
        let neverIssued = APIKeyFormat.generate(mode: .live)
        let foreign = "ghp_" + String(repeating: "x", count: 36)
        let tokens = [live, badChecksum, neverIssued, foreign]
        let body = Self.body(tokens)
        _ = try await Harness.app(settings).test(.router) { client in
            try await client.call(.get, "/v1/auth/test", key: live) { #expect($0.status == .ok) }
            let response = try await scanner.report(client, body)
            #expect(response.status == .ok, "\(response.text)")
            #expect(response.headers[.contentType] == "application/json")
            let feedback = Self.feedback(response)
            #expect(
                feedback
                    == tokens.enumerated().map { index, token in
                        [
                            "token_hash": Self.sha256(token), "token_type": "keyward_secret_key",
                            "label": index == 0 ? "true_positive" : "false_positive",
                        ]
                    }
            )
            for token in tokens { #expect(!response.text.contains(token)) }
            // Revoked at once: the very next call is refused, on this instance's cache too.
            try await client.call(.get, "/v1/auth/test", key: live) { $0.expectProblem(.unauthorized, "key_revoked", notContaining: live) }
            // Only what was reported: the merchant's test key still works.
            try await client.call(.get, "/v1/auth/test", key: tenant.testKey.secret) { #expect($0.status == .ok) }
        }
        let rows = try await Self.leakRows(services, merchantID: tenant.merchant.id)
        #expect(rows.count == 1 && rows.first?["action"] == "revoked" && rows.first?["token_hash"] == Self.sha256(live))
    }

    @Test func aReportSignedByAPythonScannerIsAccepted() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("py-scanner-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let privatePath = directory.appendingPathComponent("scanner.pem").path
        let publicPEM = try Shell.run("/usr/bin/env", ["python3", Peers.scanner, "keygen", privatePath])
        let keyFile = directory.appendingPathComponent("keys.json").path
        try Scanner.writeKeyFile(keyFile, [("python-scanner", publicPEM)])
        let settings = Harness.settings { $0.secretScanningKeys = keyFile }
        let services = try await Harness.services(settings)
        let tenant = try await Harness.tenant(services)
        let body = Self.body([tenant.testKey.secret], url: "", source: "gist_content")
        let signature = try Shell.run("/usr/bin/env", ["python3", Peers.scanner, "sign", privatePath], stdin: Data(body.utf8))
        _ = try await Harness.app(settings).test(.router) { client in
            let response = try await Self.post(client, body, identifier: "python-scanner", signature: signature)
            #expect(response.status == .ok, "\(response.text)")
            #expect(Self.feedback(response).first?["label"] == "true_positive")
            try await client.call(.get, "/v1/auth/test", key: tenant.testKey.secret) { $0.expectProblem(.unauthorized, "key_revoked") }
        }
        // And our test scanner's signatures are what Python (like GitHub's samples) verifies.
        let scanner = try Scanner()
        _ = try Shell.run(
            "/usr/bin/env",
            ["python3", Peers.scanner, "verify", scanner.key.publicKey.pemRepresentation, try scanner.sign(body)],
            stdin: Data(body.utf8)
        )
    }

    // MARK: - Replays and races

    @Test func replayedAndConcurrentReportsChangeStateOnce() async throws {
        let scanner = try Scanner()
        let settings = Harness.settings {
            $0.secretScanningKeys = scanner.file
            Harness.loopbackWebhooks(&$0, names: ["shop.example"])
        }
        let services = try await Harness.services(settings)
        let tenant = try await Harness.tenant(services)
        _ = try await services.webhooks.setEndpoint(merchantID: tenant.merchant.id, url: "https://shop.example/hooks")
        let body = Self.body([tenant.liveKey.secret, tenant.liveKey.secret])
        let signature = try scanner.sign(body)
        _ = try await Harness.app(settings).test(.router) { client in
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for _ in 0..<6 { group.addTask { try await scanner.report(client, body, signature: signature).status } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses == Array(repeating: .ok, count: 6))
            // A replay, later, still answers the same feedback.
            let replay = try await scanner.report(client, body, signature: signature)
            #expect(Self.feedback(replay).map { $0["label"] } == ["true_positive", "true_positive"])
            // The same key found somewhere else is a new leak: recorded and announced, the key already revoked.
            #expect(
                try await scanner.report(client, Self.body([tenant.liveKey.secret], url: "https://github.com/fork/shop/blob/1/.env")).status == .ok
            )
        }
        #expect(
            try await Self.leakRows(services, merchantID: tenant.merchant.id).compactMap { $0["action"] }.sorted() == ["already_revoked", "revoked"]
        )
        #expect(try await Self.leakAudit(services, merchantID: tenant.merchant.id).map(\.outcome).sorted() == ["already_revoked", "revoked"])
        #expect(try await services.webhooks.deliveries(merchantID: tenant.merchant.id).filter { $0.eventType == "key.leaked" }.count == 2)
        #expect(try await services.audit.verify().firstProblem == nil)
    }

    // MARK: - Size

    /// GitHub gives a partner 30 seconds. Real keys are the expensive part (each is revoked, recorded,
    /// audited and announced); `KEYWARD_LEAK_BENCH_KEYS` (default 2,000) sets how many exist, so the
    /// 10,000-token report holds that many minus 1,000 real keys and well-formed and foreign fillers.
    @Test func reportsOfOneAndTenThousandTokensAreAnsweredWellWithinGitHubsBudget() async throws {
        let scanner = try Scanner()
        let settings = try Harness.isolatedSettings {
            $0.secretScanningKeys = scanner.file
            Harness.loopbackWebhooks(&$0, names: ["shop.example"])
        }
        let services = try await Harness.services(settings)
        let merchant = try await services.merchants.create(name: "Big shop")
        _ = try await services.webhooks.setEndpoint(merchantID: merchant.id, url: "https://shop.example/hooks")
        let realKeys = ProcessInfo.processInfo.environment["KEYWARD_LEAK_BENCH_KEYS"].flatMap(Int.init) ?? 2000
        let keys = try await services.secretKeys.createMany(merchantID: merchant.id, mode: .live, name: "bulk", count: realKeys).map(\.secret)
        let first = Array(keys.prefix(1000))
        let rest = Array(keys.dropFirst(1000).prefix(10_000))
        let fillers = (0..<(10_000 - rest.count)).map { $0.isMultiple(of: 2) ? APIKeyFormat.generate(mode: .live) : "ghp_\(UUID().uuidString)" }
        _ = try await Harness.app(settings).test(.router) { client in
            for (name, tokens) in [("1,000", first), ("10,000", rest + fillers)] {
                let body = Self.body(tokens)
                let signature = try scanner.sign(body)
                let started = ContinuousClock.now
                let response = try await scanner.report(client, body, signature: signature)
                let took = ContinuousClock.now - started
                print("leak report of \(name) tokens (\(name == "1,000" ? first.count : rest.count) real keys, \(body.utf8.count) bytes): \(took)")
                #expect(response.status == .ok)
                #expect(Self.feedback(response).count == tokens.count)
                #expect(took < .seconds(30))
            }
            try await client.call(.get, "/v1/auth/test", key: keys[0]) { $0.expectProblem(.unauthorized, "key_revoked") }
            if let last = rest.last { try await client.call(.get, "/v1/auth/test", key: last) { $0.expectProblem(.unauthorized, "key_revoked") } }
        }
        #expect(try await Self.leakRows(services, merchantID: merchant.id).count == first.count + rest.count)
        #expect(try await services.webhooks.deliveries(merchantID: merchant.id, limit: 20_000).count == first.count + rest.count)
        #expect(try await services.audit.verify().firstProblem == nil)
    }

    // MARK: - Bad input

    @Test func oversizedMalformedAndOverfullReportsAreRefusedWithAReason() async throws {
        let scanner = try Scanner()
        let settings = Harness.settings {
            $0.secretScanningKeys = scanner.file
            $0.secretScanningMaxTokens = 3
        }
        let services = try await Harness.services(settings)
        let tenant = try await Harness.tenant(services)
        let live = tenant.liveKey.secret
        _ = try await Harness.app(settings).test(.router) { client in
            // Over 5 MiB, even when signed: refused before the signature is checked or anything parsed.
            let huge = Self.body([live] + Array(repeating: String(repeating: "z", count: 1000), count: 5300))
            #expect(huge.utf8.count > 5 * 1024 * 1024)
            (try await scanner.report(client, huge)).expectProblem(.contentTooLarge, "body_too_large", notContaining: live)
            (try await scanner.report(client, "[{\"token\": \"\(live)\"")).expectProblem(.badRequest, "invalid_json", notContaining: live)
            (try await scanner.report(client, "{\"token\": \"\(live)\"}")).expectProblem(.badRequest, "invalid_report", notContaining: live)
            (try await scanner.report(client, "[{\"type\": \"keyward_secret_key\"}]")).expectProblem(.badRequest, "invalid_report")
            (try await scanner.report(client, "[{\"token\": 42}]")).expectProblem(.badRequest, "invalid_report")
            (try await scanner.report(client, Self.body([live, "a", "b", "c"]))).expectProblem(
                .contentTooLarge,
                "too_many_tokens",
                notContaining: live
            )
            try await client.call(.get, "/v1/auth/test", key: live) { #expect($0.status == .ok) }
            // An empty report is fine and says nothing.
            let empty = try await scanner.report(client, "[]")
            #expect(empty.status == .ok && empty.text == "[]")
        }
        #expect(try await Self.leakRows(services, merchantID: tenant.merchant.id).isEmpty)
    }

    @Test func withoutScannerKeysTheEndpointSaysSoAndABadKeyFileStopsTheStart() async throws {
        let settings = Harness.settings()
        let services = try await Harness.services(settings)
        let tenant = try await Harness.tenant(services)
        let body = Self.body([tenant.liveKey.secret])
        _ = try await Harness.app(settings).test(.router) { client in
            // Not the gateway's 401 missing_credentials, nor a forward upstream: the endpoint is there, unconfigured.
            (try await Self.post(client, body, identifier: "x", signature: "y")).expectProblem(.serviceUnavailable, "secret_scanning_not_configured")
            try await client.call(.get, "/v1/auth/test", key: tenant.liveKey.secret) { #expect($0.status == .ok) }
        }
        let bad = FileManager.default.temporaryDirectory.appendingPathComponent("bad-scanner-keys-\(UUID().uuidString).json").path
        try Data(#"{"public_keys": [{"key_identifier": "k", "key": "not a key"}]}"#.utf8).write(to: URL(fileURLWithPath: bad))
        for path in [bad, "/nonexistent/keys.json"] {
            await #expect(throws: SettingsError.self) {
                _ = try await KeywardServices.open(settings: Harness.settings { $0.secretScanningKeys = path }, logger: Harness.logger)
            }
        }
        let resolved = try Settings.resolve(
            flags: [:],
            environment: ["KEYWARD_SECRET_SCANNING_KEYS": bad, "KEYWARD_SECRET_SCANNING_MAX_TOKENS": "500"]
        )
        #expect(
            resolved.secretScanningKeys == bad && resolved.secretScanningMaxTokens == 500 && resolved.secretScanningMaxBodyBytes == 5 * 1024 * 1024
        )
        #expect(throws: SettingsError.self) { try Settings.resolve(flags: [:], environment: ["KEYWARD_SECRET_SCANNING_MAX_TOKENS": "0"]) }
    }
}
