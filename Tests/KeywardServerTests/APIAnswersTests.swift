import Foundation
import Hummingbird
import HummingbirdTesting
import KeywardCore
import KeywardServer
import Testing

/// The API's weaker answers (issue 15): where a malformed body broke, a non-JSON body to a JSON endpoint,
/// a known path asked with the wrong method, and how an unrestricted key's permissions read.
@Suite(.closesStores) struct APIAnswersTests {
    /// A malformed body is answered with where parsing stopped and what was expected, never with the
    /// body's own text: a key pasted into the wrong place must not come back in an error (or a log).
    @Test func malformedJSONNamesWhereItBrokeWithoutEchoingTheBody() async throws {
        let (app, tenant) = try await Harness.appWithTenant()
        let secretish = "kw_test_" + String(repeating: "Q7x", count: 10)
        // (body, the position the detail must name, text the detail must not contain)
        let cases: [(String, String, String?)] = [
            // Truncated inside a string: the end of the body is where it broke.
            (#"{"name":"check"#, "line 1, column 15", "check"),
            // A trailing comma before the closing brace.
            (#"{"name":"x",}"#, "line 1, column 13", nil),
            // A bare word where a value belongs: a secret pasted without quotes is not repeated.
            (#"{"name": "# + secretish + "}", "line 1, column 10", "Q7xQ7x"),
            // Several lines: the line and column are the reader's, not a byte count alone.
            ("{\n  \"name\": \"x\",\n  \"allowed_ips\": [\"203.0.113.0/24\" \"10.0.0.0/8\"]\n}", "line 3, column 36", "10.0.0.0"),
            // A form body sent with a JSON content type: broken at the first byte, its fields not echoed.
            ("name=checkout&permissions=keys.read", "line 1, column 1", "checkout"),
            // A missing colon.
            (#"{"name" "x"}"#, "line 1, column 9", nil),
        ]
        _ = try await app.test(.router) { client in
            for (body, position, hidden) in cases {
                let response = try await client.call(.post, "/v1/manage/keys", key: tenant.testKey.secret, json: body)
                response.expectProblem(.badRequest, "invalid_json")
                let detail = response.json["detail"] as? String ?? ""
                #expect(detail.contains(position), "\(body.prefix(40)): \(detail)")
                #expect(detail.contains("expected"), "says what was expected: \(detail)")
                if let hidden { #expect(!response.text.contains(hidden), "echoes the body: \(detail)") }
                #expect(!response.text.contains(secretish))
            }

            // A large body (just under the 64 KiB limit) broken at its very end: the position is found, fast.
            var large = "{\"name\":\"x\",\"allowed_ips\":[\n"
            var lines = 1
            while large.utf8.count < 60_000 {
                large += "  \"203.0.113.0/24\",\n"
                lines += 1
            }
            large += "  \"203.0.113.0/24\"\n"  // and no closing `]}`
            lines += 1
            let started = ContinuousClock.now
            let response = try await client.call(.post, "/v1/manage/keys", key: tenant.testKey.secret, json: large)
            #expect(ContinuousClock.now - started < .seconds(5))
            response.expectProblem(.badRequest, "invalid_json")
            let detail = response.json["detail"] as? String ?? ""
            #expect(detail.contains("line \(lines + 1), column 1"), "the end of the body: \(detail)")
            #expect(detail.contains("byte \(large.utf8.count)"), "\(detail)")

            // A megabyte is refused for its size before any of it is parsed.
            let megabyte = "{\"name\":\"" + String(repeating: "x", count: 1 << 20) + "\",}"
            try await client.call(.post, "/v1/manage/keys", key: tenant.testKey.secret, json: megabyte) {
                $0.expectProblem(.contentTooLarge, "body_too_large")
            }

            // Bytes that are not UTF-8 inside a string: the offset, not the bytes.
            var bytes = ByteBuffer(string: #"{"name":"ab"#)
            bytes.writeBytes([0xC3, 0x28])
            bytes.writeString(#""}"#)
            let broken = try await client.execute(
                uri: "/v1/manage/keys",
                method: .post,
                headers: [.authorization: "Bearer \(tenant.testKey.secret)", .contentType: "application/json"],
                body: bytes
            ) { $0 }
            broken.expectProblem(.badRequest, "invalid_json")
            #expect((broken.json["detail"] as? String ?? "").contains("byte 11"), "\(broken.text)")
        }
    }

    /// Every JSON endpoint of `/v1` answers a body of another media type with 415 `unsupported_media_type`
    /// (the route table is walked, so a new endpoint is covered); the refusal is audited under the action
    /// it tried.
    @Test func nonJSONBodiesToJSONEndpointsAre415() async throws {
        let settings = Harness.settings()
        let services = try await Harness.services(settings)
        let tenant = try await Harness.tenant(services)
        let table = RouteTable()
        _ = buildRouter(services, listener: .https, table: table)
        // Routes that change something but take no JSON body: the Apple Pay file is sent as it is, and a
        // renewal or a domain check reads no body at all.
        let notJSON: Set<String> = [
            "PUT /v1/manage/apple-pay/domain-association", "POST /v1/manage/channels/{id}/renew",
        ]
        let routes = table.all.filter {
            ["POST", "PUT", "PATCH"].contains($0.method) && ($0.path.hasPrefix("/v1/manage/") || $0.path == "/v1/auth/diagnose")
                && !$0.path.hasSuffix("**") && !$0.requirement.hasPrefix("none: 405") && !notJSON.contains("\($0.method) \($0.path)")
        }
        #expect(routes.count > 25, "the walk found the JSON endpoints")
        let app = try await Harness.app(settings)
        let bodies: [(String, String)] = [
            ("application/x-www-form-urlencoded", "name=checkout"),
            ("multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\ncheckout\r\n--x--\r\n"),
            ("text/plain", "{}"),
            ("application/x-www-form-urlencoded", #"{"name":"checkout"}"#),
        ]
        _ = try await app.test(.router) { client in
            for route in routes {
                let key = route.path == "/v1/auth/diagnose" ? tenant.testKey.secret : tenant.liveKey.secret
                for (type, body) in bodies {
                    let response = try await client.execute(
                        uri: Self.concrete(route.path),
                        method: HTTPRequest.Method(route.method) ?? .post,
                        headers: [.authorization: "Bearer \(key)", .contentType: type],
                        body: ByteBuffer(string: body)
                    ) { $0 }
                    #expect(response.status == .unsupportedMediaType, "\(route.method) \(route.path) with \(type): \(response.text)")
                    #expect(response.json["code"] as? String == "unsupported_media_type")
                    #expect(response.json["status"] as? Int == 415)
                }
            }
        }
        let entries = try await services.audit.list(merchantID: tenant.merchant.id).map { "\($0.action) \($0.outcome)" }
        #expect(entries.contains("secret_key.create unsupported_media_type"), "\(entries.prefix(5))")
    }

    /// A known management path asked with a method it does not take is 405 with `Allow` naming the
    /// methods it does (walked from the route table: every known path, every wrong method); an unknown
    /// path stays 404. A wrong-method change is audited like a change to an unknown endpoint.
    @Test func wrongMethodOnAKnownManagementPathIs405WithAllow() async throws {
        let settings = Harness.settings()
        let services = try await Harness.services(settings)
        let tenant = try await Harness.tenant(services)
        let table = RouteTable()
        _ = buildRouter(services, listener: .https, table: table)
        let known = Self.knownPaths(table, under: "/v1/manage/")
        #expect(known.count > 35, "the walk found the management paths")
        let app = try await Harness.app(settings)
        _ = try await app.test(.router) { client in
            var checked = 0
            for (path, accepted) in known.sorted(by: { $0.key < $1.key }) {
                let allow = Self.methods.filter(accepted.contains).joined(separator: ", ")
                for method in Self.methods where !accepted.contains(method) {
                    let response = try await client.call(
                        HTTPRequest.Method(method) ?? .get,
                        Self.concrete(path),
                        key: tenant.liveKey.secret,
                        json: method == "GET" || method == "DELETE" ? nil : "{}"
                    )
                    #expect(response.status == .methodNotAllowed, "\(method) \(path): \(response.status) \(response.text)")
                    #expect(response.json["code"] as? String == "method_not_allowed", "\(method) \(path)")
                    #expect(response.json["status"] as? Int == 405, "\(method) \(path)")
                    #expect(response.headers[.allow] == allow, "\(method) \(path)")
                    checked += 1
                }
            }
            #expect(checked > 100)

            // The issue's example, with a real key id.
            let id = tenant.testKey.info.id
            try await client.call(.delete, "/v1/manage/keys/\(id)", key: tenant.testKey.secret) {
                $0.expectProblem(.methodNotAllowed, "method_not_allowed")
                #expect($0.headers[.allow] == "GET")
            }
            // Unknown paths, and a known path with one segment too many, stay 404.
            for (method, path) in [("DELETE", "/v1/manage/nope"), ("GET", "/v1/manage/keys/\(id)/nope"), ("POST", "/v1/manage/keys-everywhere")] {
                try await client.call(HTTPRequest.Method(method) ?? .get, path, key: tenant.testKey.secret, json: method == "POST" ? "{}" : nil) {
                    $0.expectProblem(.notFound, "not_found")
                    #expect($0.headers[.allow] == nil)
                }
            }
            // No key, no answer about the path.
            try await client.call(.delete, "/v1/manage/keys/\(id)", key: nil) { $0.expectProblem(.unauthorized, "missing_credentials") }
            // The key still works: the wrong method did not revoke it.
            try await client.call(.get, "/v1/manage/keys/\(id)", key: tenant.testKey.secret) { #expect($0.status == .ok) }
        }
        let entries = try await services.audit.list(merchantID: tenant.merchant.id).map { "\($0.action) \($0.outcome)" }
        #expect(entries.contains("api.unknown_endpoint DELETE /v1/manage/keys/\(tenant.testKey.info.id) method_not_allowed"), "\(entries.prefix(5))")
        #expect(entries.contains("api.unknown_endpoint DELETE /v1/manage/nope not_found"))
        #expect(!entries.contains { $0.hasPrefix("api.unknown_endpoint GET ") }, "reads are not audited")
    }

    /// An unrestricted key's permissions read `["*"]` in every answer that shows permissions: creation,
    /// fetch, list, roll, `limits` of every kind, and `/v1/auth/test`; `["*"]` is accepted back on creation.
    @Test func unrestrictedPermissionsReadTheSameInEveryAnswer() async throws {
        let (app, tenant) = try await Harness.appWithTenant()
        _ = try await app.test(.router) { client in
            let admin = tenant.testKey.secret
            let created = try await client.call(.post, "/v1/manage/keys", key: admin, json: #"{"name":"open"}"#)
            #expect(created.status == .created, "\(created.text)")
            let id = try #require(created.json["id"] as? String)
            func expectUnrestricted(_ object: [String: Any]?, _ what: String) {
                #expect(object?["permissions"] as? [String] == ["*"], "\(what): \(String(describing: object?["permissions"]))")
                #expect((object?["limits"] as? [String: Any])?["permissions"] as? [String] == ["*"], "\(what) limits")
            }
            expectUnrestricted(created.json, "create")
            expectUnrestricted(try await client.call(.get, "/v1/manage/keys/\(id)", key: admin).json, "get")
            let listed = try await client.call(.get, "/v1/manage/keys", key: admin).json["data"] as? [[String: Any]]
            expectUnrestricted(listed?.first { $0["id"] as? String == id }, "list")
            let rolled = try await client.call(.post, "/v1/manage/keys/\(id)/roll", key: admin, json: "{}")
            expectUnrestricted(rolled.json, "roll")
            let test = try await client.call(.get, "/v1/auth/test", key: admin)
            #expect(test.json["permissions"] as? [String] == ["*"])

            // Another kind's limits say the same.
            let jwk = try await client.call(.post, "/v1/manage/jwks/generate", key: admin, json: #"{"name":"device"}"#)
            #expect((jwk.json["limits"] as? [String: Any])?["permissions"] as? [String] == ["*"], "\(jwk.text)")

            // What an answer shows can be sent back: ["*"] is an unrestricted key for an unrestricted caller…
            let copied = try await client.call(.post, "/v1/manage/keys", key: admin, json: #"{"name":"copy","permissions":["*"]}"#)
            #expect(copied.status == .created, "\(copied.text)")
            expectUnrestricted(copied.json, "created with [\"*\"]")
            // …and a restricted key shows exactly its own list, and cannot widen itself with "*".
            let narrow = try await client.call(
                .post,
                "/v1/manage/keys",
                key: admin,
                json: #"{"name":"narrow","permissions":["keys.read","keys.write"]}"#
            )
            #expect(narrow.json["permissions"] as? [String] == ["keys.read", "keys.write"])
            let narrowSecret = try #require(narrow.json["secret"] as? String)
            try await client.call(.post, "/v1/manage/keys", key: narrowSecret, json: #"{"name":"wide","permissions":["*"]}"#) {
                #expect($0.status == .forbidden || $0.status == .badRequest, "\($0.text)")
            }
            try await client.call(.post, "/v1/manage/keys", key: admin, json: #"{"name":"mixed","permissions":["*","keys.read"]}"#) {
                $0.expectProblem(.badRequest, "invalid_permissions")
            }
        }
    }

    /// A known cabinet page asked with a method it does not take is a 405 page with `Allow` (no session
    /// needed); an unknown page stays the 404 page.
    @Test func wrongMethodOnAKnownCabinetPageIs405WithAllow() async throws {
        let settings = Harness.settings()
        let services = try await Harness.services(settings)
        let table = RouteTable()
        _ = buildRouter(services, listener: .https, table: table)
        let known = Self.knownPaths(table, under: "/cabinet")
        #expect(known.count > 30, "the walk found the cabinet pages")
        let app = try await Harness.app(settings)
        _ = try await app.test(.router) { client in
            for (path, accepted) in known.sorted(by: { $0.key < $1.key }) {
                let allow = Self.methods.filter(accepted.contains).joined(separator: ", ")
                for method in Self.methods where !accepted.contains(method) {
                    let response = try await client.execute(uri: Self.concrete(path), method: HTTPRequest.Method(method) ?? .get) { $0 }
                    #expect(response.status == .methodNotAllowed, "\(method) \(path): \(response.status)")
                    #expect(response.headers[.allow] == allow, "\(method) \(path)")
                    #expect(response.headers[.contentType]?.hasPrefix("text/html") == true, "\(method) \(path): a page")
                }
            }
            let unknown = try await client.execute(uri: "/cabinet/no-such-page", method: .get) { $0 }
            #expect(unknown.status == .notFound)
            #expect(unknown.headers[.allow] == nil)
        }
    }

    static let methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]

    /// The methods each route-table path under `prefix` takes (not the catch-all, not the 405 answers).
    static func knownPaths(_ table: RouteTable, under prefix: String) -> [String: Set<String>] {
        var known: [String: Set<String>] = [:]
        for entry in table.all where entry.path.hasPrefix(prefix) && !entry.path.hasSuffix("**") && methods.contains(entry.method) {
            if !entry.requirement.hasPrefix("none: 405") { known[entry.path, default: []].insert(entry.method) }
        }
        return known
    }

    /// A route-table path with its parameters filled in (ids that name nothing).
    static func concrete(_ path: String) -> String {
        path.replacingOccurrences(of: "{mode}", with: "test")
            .replacingOccurrences(of: "{subject}", with: "merchant")
            .replacingOccurrences(of: "{index}", with: "1")
            .replacingOccurrences(of: "{id}", with: "xyz_0000000000")
            .replacingOccurrences(of: "{user}", with: "usr_0000000000")
    }
}
