import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

/// The shape of a JSON answer, for tests that pin what clients parse: each field's type, and the value of
/// the fields that name a kind or a state. Absent fields are absent from the map; a `null` is `"null"`.
///
/// Types: `string`, `time` (RFC 3339 UTC without fraction, as the API writes times), `int`, `number`,
/// `bool`, `null`, `[]` (empty array), `[string]`, `[object]` (an array of objects, checked on their own),
/// and `{k:type,…}` for a nested object. `object`, `mode` and `status` show their value as `=value`.
enum JSONShape {
    /// The fields of a JSON object.
    static func fields(_ response: TestResponse, sourceLocation: SourceLocation = #_sourceLocation) -> [String: String] {
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(buffer: response.body)), case .object(let object) = value else {
            Issue.record("not a JSON object: \(String(buffer: response.body))", sourceLocation: sourceLocation)
            return [:]
        }
        return fields(object)
    }

    /// The items of `data` in a list answer, and the envelope's own fields.
    static func list(_ response: TestResponse) -> (envelope: [String: String], items: [[String: String]]) {
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(buffer: response.body)), case .object(let object) = value else {
            Issue.record("not a JSON object: \(String(buffer: response.body))")
            return ([:], [])
        }
        return (fields(object), items(object["data"]))
    }

    /// The objects of the array `key` of an answer (a store's `keys`).
    static func items(_ response: TestResponse, _ key: String) -> [[String: String]] {
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(buffer: response.body)), case .object(let object) = value else {
            return []
        }
        return items(object[key])
    }

    private static func items(_ value: JSONValue?) -> [[String: String]] {
        guard case .array(let array) = value else { return [] }
        return array.compactMap {
            guard case .object(let object) = $0 else { return nil }
            return fields(object)
        }
    }

    private static func fields(_ object: [String: JSONValue]) -> [String: String] {
        var shape = [String: String]()
        for (key, value) in object {
            if ["object", "mode", "status"].contains(key), case .string(let text) = value {
                shape[key] = "=" + text
            } else {
                shape[key] = describe(value)
            }
        }
        return shape
    }

    private static func describe(_ value: JSONValue) -> String {
        switch value {
        case .null: return "null"
        case .bool: return "bool"
        case .number(let number): return number == number.rounded() ? "int" : "number"
        case .string(let text): return text.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/) != nil ? "time" : "string"
        case .array(let array):
            guard let first = array.first else { return "[]" }
            if case .object = first { return "[object]" }
            return "[\(describe(first))]"
        case .object(let object):
            return "{" + object.keys.sorted().map { "\($0):\(describe(object[$0] ?? .null))" }.joined(separator: ",") + "}"
        }
    }
}

/// Any JSON value, decoded without losing whether a field was `true` or `1`.
enum JSONValue: Decodable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let bool = try? container.decode(Bool.self) {
            self = .bool(bool)
        } else if let number = try? container.decode(Double.self) {
            self = .number(number)
        } else if let text = try? container.decode(String.self) {
            self = .string(text)
        } else if let array = try? container.decode([JSONValue].self) {
            self = .array(array)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }
}

extension JSONShape {
    /// Expects every one of `shapes` to fit the schema `name` of the OpenAPI document (`document`, the answer
    /// to `GET /v1/openapi.json`): no field the schema does not name, every required field present, each
    /// field of the documented type, `object` its constant and `status` one of its values.
    static func expectDocumented(
        _ document: TestResponse,
        _ name: String,
        _ shapes: [[String: String]],
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let json = (try? JSONSerialization.jsonObject(with: Data(buffer: document.body))) as? [String: Any]
        let schemas = (json?["components"] as? [String: Any])?["schemas"] as? [String: [String: Any]]
        guard let schema = schemas?[name], let properties = schema["properties"] as? [String: [String: Any]] else {
            Issue.record("no schema \(name)", sourceLocation: sourceLocation)
            return
        }
        let required = Set(schema["required"] as? [String] ?? [])
        for shape in shapes {
            #expect(
                Set(shape.keys).subtracting(properties.keys).isEmpty,
                "\(name) does not document \(shape.keys.sorted())",
                sourceLocation: sourceLocation
            )
            #expect(required.subtracting(shape.keys).isEmpty, "\(name) requires \(required.sorted())", sourceLocation: sourceLocation)
            for (field, type) in shape {
                guard let property = properties[field] else { continue }
                #expect(fits(type, property), "\(name).\(field): \(type) against \(property)", sourceLocation: sourceLocation)
            }
        }
    }

    private static func fits(_ type: String, _ property: [String: Any]) -> Bool {
        if property["$ref"] != nil { return type.hasPrefix("{") }
        if let constant = property["const"] as? String { return type == "=" + constant }
        if type.hasPrefix("="), let values = property["enum"] as? [String] { return values.contains(String(type.dropFirst())) }
        let documented = property["type"] as? String
        switch type {
        case "time": return documented == "string" && property["format"] as? String == "date-time"
        case "string": return documented == "string" && property["format"] == nil
        case "int": return documented == "integer"
        case "bool": return documented == "boolean"
        default:
            if type.hasPrefix("=") { return documented == "string" }
            if type.hasPrefix("[") { return documented == "array" }
            return documented == "object"
        }
    }
}
