import Foundation
import KeywardCrypto
import Testing

/// The error code registry is the one list of codes: every `static let` is in it, every code in it is
/// documented in README's *Error codes* table, and codes are unique `snake_case` strings.
@Suite struct ErrorCodeTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `(name, raw value)` of every `static let … = ErrorCode("…")` in the declarations file.
    static func declared() throws -> [(name: String, rawValue: String)] {
        let source = try String(contentsOf: root.appendingPathComponent("Sources/KeywardCrypto/ErrorCode.swift"), encoding: .utf8)
        let pattern = try NSRegularExpression(pattern: #"static let (\w+) = ErrorCode\("([^"]*)"\)"#)
        return pattern.matches(in: source, range: NSRange(source.startIndex..., in: source)).compactMap { match in
            guard let name = Range(match.range(at: 1), in: source), let raw = Range(match.range(at: 2), in: source) else { return nil }
            return (String(source[name]), String(source[raw]))
        }
    }

    /// The codes in README's *Error codes* table, in order.
    static func documented() throws -> [String] {
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        guard let start = readme.range(of: "\n## Error codes\n") else { return [] }
        let section = readme[start.upperBound...]
        let end = section.range(of: "\n## ")?.lowerBound ?? section.endIndex
        return section[..<end].split(separator: "\n").compactMap { line in
            guard line.hasPrefix("| `"), let close = line.dropFirst(3).firstIndex(of: "`") else { return nil }
            return String(line[line.index(line.startIndex, offsetBy: 3)..<close])
        }
    }

    @Test func everyDeclaredCodeIsInTheRegistry() throws {
        let declared = try Self.declared()
        #expect(declared.count > 150, "the declarations file was not read: \(declared.count) codes found")
        let registry = Set(ErrorCode.all.map(\.rawValue))
        let missing = declared.map(\.rawValue).filter { !registry.contains($0) }
        #expect(missing.isEmpty, "declared as static let but missing from ErrorCode.all: \(missing)")
        let undeclared = registry.subtracting(declared.map(\.rawValue))
        #expect(undeclared.isEmpty, "in ErrorCode.all but not declared: \(undeclared.sorted())")
    }

    @Test func codesAreUniqueSnakeCaseAndNamedAfterThemselves() throws {
        let raw = ErrorCode.all.map(\.rawValue)
        #expect(Set(raw).count == raw.count, "duplicates in ErrorCode.all: \(Dictionary(grouping: raw) { $0 }.filter { $1.count > 1 }.keys.sorted())")
        let declared = try Self.declared()
        let rawValues = declared.map(\.rawValue)
        #expect(Set(rawValues).count == rawValues.count, "two static lets share a code")
        let names = declared.map(\.name)
        #expect(Set(names).count == names.count)
        let snake = try NSRegularExpression(pattern: "^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
        for (name, rawValue) in declared {
            #expect(snake.firstMatch(in: rawValue, range: NSRange(rawValue.startIndex..., in: rawValue)) != nil, "'\(rawValue)' is not snake_case")
            // `.invalidJWK` is "invalid_jwk": the name is the code without underscores, acronyms capitalised.
            #expect(name.lowercased() == rawValue.replacingOccurrences(of: "_", with: ""), "static let \(name) holds '\(rawValue)'")
        }
    }

    @Test func everyCodeIsDocumentedInTheReadme() throws {
        let documented = try Self.documented()
        #expect(!documented.isEmpty, "README has no '## Error codes' table")
        let registry = ErrorCode.all.map(\.rawValue)
        let undocumented = registry.filter { !documented.contains($0) }
        #expect(undocumented.isEmpty, "codes without a line in README's Error codes table: \(undocumented)")
        let unknown = documented.filter { ErrorCode(registered: $0) == nil }
        #expect(unknown.isEmpty, "README documents codes Keyward does not have: \(unknown)")
        #expect(Set(documented).count == documented.count, "a code is documented twice")
    }

    @Test func aCodeIsWrittenAsItsBareStringAndOnlyRegisteredCodesAreRead() throws {
        let encoded = try JSONEncoder().encode(["code": ErrorCode.resourceMissing])
        #expect(String(decoding: encoded, as: UTF8.self) == #"{"code":"resource_missing"}"#)
        #expect("\(ErrorCode.invalidJWK)" == "invalid_jwk")
        #expect(try JSONDecoder().decode([ErrorCode].self, from: Data(#"["key_revoked"]"#.utf8)) == [.keyRevoked])
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([ErrorCode].self, from: Data(#"["made_up_code"]"#.utf8)) }
        #expect(ErrorCode(registered: "made_up_code") == nil)
        #expect(ErrorCode(registered: "server_busy") == .serverBusy)
    }
}
