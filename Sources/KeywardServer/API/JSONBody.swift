import Foundation
import Hummingbird
import KeywardCore

/// A request body type that refuses fields it does not know: a typo such as `"expire_at"` must fail
/// loudly rather than silently create a key that never expires.
protocol StrictJSONBody: Decodable {
    /// Every accepted top-level field.
    static var fields: Set<String> { get }
    /// Fields that hold JSON text and may also be sent as the JSON object itself (e.g. a JWK): an object
    /// there is turned into its text before decoding.
    static var jsonTextFields: Set<String> { get }
}

extension StrictJSONBody {
    static var jsonTextFields: Set<String> { [] }
}

enum JSONBody {
    /// Management bodies are small; anything larger is a mistake or an attack.
    static let limit = 64 * 1024

    static func decode<T: StrictJSONBody>(_ type: T.Type, from request: Request) async throws -> T {
        if let contentType = request.headers[.contentType]?.lowercased(), !contentType.hasPrefix("application/json") {
            throw unsupported(contentType)
        }
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: limit)
        } catch {
            throw KeywardError(.tooLarge, .bodyTooLarge, "The JSON body must be at most \(limit / 1024) KiB.")
        }
        var data = Data(buffer: buffer)
        if data.allSatisfy({ $0 == 0x20 || $0 == 0x0a || $0 == 0x0d || $0 == 0x09 }) { data = Data("{}".utf8) }
        // Strict RFC 8259 first: Foundation's parser lets a trailing comma through, and cannot say where a body broke.
        if let error = JSONSyntax.firstError(in: Array(data)) {
            throw KeywardError(.invalidInput, .invalidJSON, "The body is not valid JSON \(error).")
        }
        guard let object = try? JSONSerialization.jsonObject(with: data) else {
            // Syntactically JSON, yet refused by the parser (nesting too deep, a number out of range).
            throw KeywardError(
                .invalidInput,
                .invalidJSON,
                "The body could not be read as a JSON object (too deeply nested, or a number out of range)."
            )
        }
        guard let dictionary = object as? [String: Any] else {
            throw KeywardError(
                .invalidInput,
                .invalidJSON,
                "The body must be a JSON object ({…}), not \(object is [Any] ? "an array" : "a single value")."
            )
        }
        if let unknown = dictionary.keys.sorted().first(where: { !T.fields.contains($0) }) {
            throw KeywardError(
                .invalidInput,
                .unknownField,
                "Unknown field '\(unknown.prefix(64))'; accepted: \(T.fields.sorted().joined(separator: ", ")).",
                field: String(unknown.prefix(64))
            )
        }
        var textified = dictionary
        for field in T.jsonTextFields {
            guard let object = dictionary[field] as? [String: Any],
                let text = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            else { continue }
            textified[field] = String(decoding: text, as: UTF8.self)
            if let rewritten = try? JSONSerialization.data(withJSONObject: textified) { data = rewritten }
        }
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch let error as KeywardError {
            throw error
        } catch let error as DecodingError {
            throw describe(error)
        }
    }

    /// 415: this endpoint reads JSON. The media type is named only when it looks like one (it is the
    /// caller's own header, echoed to the caller alone).
    static func unsupported(_ contentType: String) -> KeywardError {
        let mediaType = contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        let looksLikeOne =
            mediaType.utf8.count <= 64 && mediaType.allSatisfy { $0.isLetter || $0.isNumber || "/.+-_".contains($0) }
            && mediaType.allSatisfy(\.isASCII)
        let named = looksLikeOne && !mediaType.isEmpty ? " (not \(mediaType))" : ""
        return KeywardError(.unsupportedMediaType, .unsupportedMediaType, "This endpoint reads JSON: send the body as application/json\(named).")
    }

    static func describe(_ error: DecodingError) -> KeywardError {
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .typeMismatch(let type, let context):
            return KeywardError(.invalidInput, .invalidField, "'\(path(context))' must be \(describe(type)).", field: path(context))
        case .valueNotFound(let type, let context):
            return KeywardError(.invalidInput, .invalidField, "'\(path(context))' must be \(describe(type)), not null.", field: path(context))
        case .keyNotFound(let key, _):
            return KeywardError(.invalidInput, .missingField, "'\(key.stringValue)' is required.", field: key.stringValue)
        case .dataCorrupted(let context):
            return KeywardError(.invalidInput, .invalidJSON, "The body is not valid JSON (\(path(context))).")
        @unknown default:
            return KeywardError(.invalidInput, .invalidJSON, "The body could not be read.")
        }
    }

    static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type: "an integer"
        case is Bool.Type: "true or false"
        case is [String].Type: "an array of strings"
        default: "a value of another type"
        }
    }
}

/// RFC 3339 timestamps in and out of the API.
enum Timestamp {
    static func format(_ date: Date?) -> String? {
        date.map { $0.formatted(.iso8601) }
    }

    static func parse(_ text: String?, field: String) throws -> Date? {
        guard let text else { return nil }
        let withFraction = ISO8601DateFormatter()
        withFraction.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = ISO8601DateFormatter().date(from: text) ?? withFraction.date(from: text) { return date }
        throw KeywardError(.invalidInput, .invalidDate, "'\(field)' must be an RFC 3339 timestamp such as 2027-01-31T23:59:59Z.", field: field)
    }
}

/// Encodes API responses.
enum JSONResponse {
    static func make<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(value)
        var headers: HTTPFields = [.contentType: "application/json", .cacheControl: "no-store"]
        // A created object names itself, for clients' logs and for the audit log.
        if status == .created,
            let id = (value as? any IdentifiedResource)?.id ?? Mirror(reflecting: value).children.first(where: { $0.label == "id" })?.value as? String
        {
            headers[.keywardObjectID] = id
        }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(data: data)))
    }
}

/// A writer for small flat JSON objects on the hot path (`/v1/auth/test`, `/healthz`), where
/// JSONEncoder's reflection and boxing cost more than the whole authentication.
struct FlatJSON {
    private var buffer = ByteBuffer()
    private var first = true

    init() { buffer.writeInteger(UInt8(ascii: "{")) }

    mutating func add(_ key: String, _ value: String) {
        separator(key)
        write(value)
    }

    mutating func add(_ key: String, _ values: [String]) {
        separator(key)
        buffer.writeInteger(UInt8(ascii: "["))
        for (index, value) in values.enumerated() {
            if index > 0 { buffer.writeInteger(UInt8(ascii: ",")) }
            write(value)
        }
        buffer.writeInteger(UInt8(ascii: "]"))
    }

    /// The finished object.
    consuming func bytes() -> ByteBuffer {
        buffer.writeInteger(UInt8(ascii: "}"))
        return buffer
    }

    /// A 200 answer with the finished object.
    consuming func response() -> Response {
        Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"], body: .init(byteBuffer: bytes()))
    }

    private mutating func separator(_ key: String) {
        if !first { buffer.writeInteger(UInt8(ascii: ",")) }
        first = false
        write(key)
        buffer.writeInteger(UInt8(ascii: ":"))
    }

    /// A JSON string (RFC 8259 §7): quote, backslash and control characters escaped, UTF-8 kept.
    private mutating func write(_ string: String) {
        buffer.writeInteger(UInt8(ascii: "\""))
        // Ids and codes never need escaping: copy them in one write.
        if !string.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            buffer.writeString(string)
            buffer.writeInteger(UInt8(ascii: "\""))
            return
        }
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): buffer.writeStaticString("\\\"")
            case UInt8(ascii: "\\"): buffer.writeStaticString("\\\\")
            case 0..<0x20:
                buffer.writeStaticString("\\u00")
                buffer.writeInteger(Self.hex[Int(byte >> 4)])
                buffer.writeInteger(Self.hex[Int(byte & 0x0f)])
            default: buffer.writeInteger(byte)
            }
        }
        buffer.writeInteger(UInt8(ascii: "\""))
    }

    private static let hex = Array("0123456789abcdef".utf8)
}
