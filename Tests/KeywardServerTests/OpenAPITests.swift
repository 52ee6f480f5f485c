import Foundation
import Hummingbird
import HummingbirdTesting
import KeywardCore
import KeywardServer
import Testing

/// The OpenAPI document served at `/v1/openapi.json` describes the router that serves it: every `/v1`
/// route Keyward answers itself is documented, every documented operation exists, and each one names
/// the requirement the server checks. (Whether the answers match the schemas is schemathesis's job,
/// `.ci/schemathesis.sh`, against a live server.)
@Suite(.closesStores) struct OpenAPITests {
    /// The document as served, without credentials.
    static func servedDocument() async throws -> [String: Any] {
        let app = try await Harness.app(Harness.settings())
        let body = try await app.test(.router) { client -> Data in
            let response = try await client.call(.get, "/v1/openapi.json", key: nil)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "application/json")
            return Data(buffer: response.body)
        }
        return try #require(try JSONSerialization.jsonObject(with: body) as? [String: Any])
    }

    static let methods: Set<String> = ["get", "put", "post", "delete", "patch", "head", "options", "trace"]

    /// `METHOD /path` of every documented operation, with the operation.
    static func operations(_ document: [String: Any]) -> [String: [String: Any]] {
        var result: [String: [String: Any]] = [:]
        for (path, item) in document["paths"] as? [String: [String: Any]] ?? [:] {
            for (method, operation) in item where methods.contains(method) {
                result["\(method.uppercased()) \(path)"] = operation as? [String: Any] ?? [:]
            }
        }
        return result
    }

    @Test func documentedOperationsAreExactlyTheRoutesKeywardAnswersItself() async throws {
        let document = try await Self.servedDocument()
        #expect((document["openapi"] as? String)?.hasPrefix("3.1") == true)
        let documented = Set(Self.operations(document).keys)

        let services = try await Harness.services(Harness.settings())
        let table = RouteTable()
        let router = buildRouter(services, listener: .https, table: table)
        // `/v1/**` is the upstream pass-through and `/v1/manage/**` its 404, and a known management path's
        // other methods its 405: described in the document's text and each operation's 405, not as operations.
        let refusals = Set(table.all.filter { $0.requirement.hasPrefix("none: 405") }.map { "\($0.method) \($0.path)" })
        let served = Set(
            router.routes.map { "\($0.method) \($0.path)" }.filter { $0.contains(" /v1/") && !$0.contains("**") && !refusals.contains($0) }
        )
        #expect(served.count > 50, "the walk found the routes")
        #expect(served.subtracting(documented).isEmpty, "served but not documented: \(served.subtracting(documented).sorted())")
        #expect(documented.subtracting(served).isEmpty, "documented but not served: \(documented.subtracting(served).sorted())")

        // The requirement each operation states is the one the server checks.
        let requirements = Dictionary(table.all.map { ("\($0.method) \($0.path)", $0.requirement) }, uniquingKeysWith: { a, _ in a })
        for (name, operation) in Self.operations(document) {
            #expect(operation["x-keyward-requirement"] as? String == requirements[name], "\(name)")
        }
    }

    @Test func everyOperationStatesSecurityResponsesAndProblemErrors() async throws {
        let document = try await Self.servedDocument()
        let components = document["components"] as? [String: Any] ?? [:]
        let responses = components["responses"] as? [String: [String: Any]] ?? [:]
        let schemes = Set((components["securitySchemes"] as? [String: Any] ?? [:]).keys)
        for (name, operation) in Self.operations(document) {
            let security = operation["security"] as? [[String: Any]]
            #expect(security != nil, "\(name) says nothing about credentials")
            for requirement in security ?? [] { #expect(Set(requirement.keys).isSubset(of: schemes), "\(name): \(requirement.keys)") }
            let answers = operation["responses"] as? [String: [String: Any]] ?? [:]
            #expect(answers.keys.contains { $0.hasPrefix("2") }, "\(name) documents no success")
            for (status, answer) in answers where status.hasPrefix("4") || status.hasPrefix("5") {
                let resolved = (answer["$ref"] as? String).flatMap { responses[String($0.split(separator: "/").last ?? "")] } ?? answer
                let content = resolved["content"] as? [String: [String: Any]] ?? [:]
                let schema = content["application/problem+json"]?["schema"] as? [String: Any]
                #expect(schema?["$ref"] as? String == "#/components/schemas/Problem", "\(name) \(status) is not problem+json")
            }
            // Management routes are secret-key only: 401 and 403 are always possible answers.
            if name.contains("/v1/manage/") {
                #expect(answers["401"] != nil && answers["403"] != nil, "\(name)")
                #expect(security?.map { Set($0.keys) } == [["secretKey"]], "\(name)")
            }
        }
        let problem = (components["schemas"] as? [String: [String: Any]])?["Problem"]
        #expect((problem?["required"] as? [String]).map { Set($0).isSuperset(of: ["type", "title", "status", "detail", "code"]) } == true)
    }

    /// Every `$ref` in the document points at something in it (a typo would make clients and
    /// schemathesis fail on the whole document).
    @Test func everyReferenceResolves() async throws {
        let document = try await Self.servedDocument()
        var references: [String] = []
        func walk(_ value: Any) {
            if let object = value as? [String: Any] {
                if let ref = object["$ref"] as? String { references.append(ref) }
                object.values.forEach(walk)
            } else if let array = value as? [Any] {
                array.forEach(walk)
            }
        }
        walk(document)
        #expect(references.count > 100)
        for ref in Set(references) {
            var node: Any? = document
            for part in ref.dropFirst(2).split(separator: "/") { node = (node as? [String: Any])?[String(part)] }
            #expect(node != nil, "\(ref) resolves to nothing")
        }
    }

    /// The document is public; anything else under `/v1` still needs credentials.
    @Test func theDocumentIsPublicButItsNeighboursAreNot() async throws {
        let app = try await Harness.app(Harness.settings())
        try await app.test(.router) { client in
            try await client.call(.get, "/v1/openapi.jsonx", key: nil) { $0.expectProblem(.unauthorized, "missing_credentials") }
            try await client.call(.get, "/v1/manage/keys", key: nil) { $0.expectProblem(.unauthorized, "missing_credentials") }
        }
    }
}
