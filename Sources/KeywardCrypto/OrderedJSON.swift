/// A JSON value that keeps object members in document order and numbers as their literal text: myPOS
/// signs the values of a JSON answer depth-first in document order, which a dictionary would lose, and
/// JOSE headers and JWKs must be refused when a member appears twice, which a dictionary would hide.
public indirect enum OrderedJSON: Sendable, Equatable {
    case string(String)
    /// A number exactly as written (`1.50` stays `1.50`).
    case number(String)
    case bool(Bool)
    case null
    case array([OrderedJSON])
    case object([Member])

    /// One object member.
    public struct Member: Sendable, Equatable {
        public let name: String
        public let value: OrderedJSON
        public init(_ name: String, _ value: OrderedJSON) {
            self.name = name
            self.value = value
        }
    }

    /// Why bytes are not JSON.
    public struct Malformed: Error, Sendable, Equatable {
        public let reason: String
    }

    /// Parses `bytes` (UTF-8 JSON); nesting deeper than `maxDepth` is refused.
    public static func parse(_ bytes: [UInt8], maxDepth: Int = 64) throws(Malformed) -> OrderedJSON {
        var reader = Reader(bytes: bytes, maxDepth: maxDepth)
        let value = try reader.value(depth: 0)
        reader.skipSpace()
        guard reader.index == bytes.count else { throw Malformed(reason: "Unexpected data after the JSON value.") }
        return value
    }

    /// The value of member `name` of an object (`nil` when absent or not an object).
    public subscript(member name: String) -> OrderedJSON? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.name == name }?.value
    }

    /// The string value, when this is a string.
    public var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    /// Compact JSON text, members in order.
    public var serialized: String {
        switch self {
        case .string(let text): Self.quote(text)
        case .number(let literal): literal
        case .bool(let value): value ? "true" : "false"
        case .null: "null"
        case .array(let items): "[" + items.map(\.serialized).joined(separator: ",") + "]"
        case .object(let members): "{" + members.map { Self.quote($0.name) + ":" + $0.value.serialized }.joined(separator: ",") + "}"
        }
    }

    /// Leaf values depth-first in document order, as PHP's `implode` sees `json_decode($x, true)` (the
    /// myPOS SDK): `true` is "1", `false` and `null` are "", integers as written, decimals without
    /// trailing zeros (`1.50` is "1.5", `10.0` is "10"). Amounts are safest sent as strings.
    public var leafValues: [String] {
        var out = [String]()
        collect(into: &out)
        return out
    }

    private func collect(into out: inout [String]) {
        switch self {
        case .string(let text): out.append(text)
        case .number(let literal): out.append(Self.phpNumberText(literal))
        case .bool(let value): out.append(value ? "1" : "")
        case .null: out.append("")
        case .array(let items): for item in items { item.collect(into: &out) }
        case .object(let members): for member in members { member.value.collect(into: &out) }
        }
    }

    /// How PHP prints a decoded JSON number: a decimal loses its trailing zeros (a float); integers and
    /// exponent forms are kept as written.
    static func phpNumberText(_ literal: String) -> String {
        guard literal.contains("."), !literal.contains("e"), !literal.contains("E") else { return literal }
        var text = Substring(literal)
        while text.hasSuffix("0") { text = text.dropLast() }
        if text.hasSuffix(".") { text = text.dropLast() }
        return text == "-0" ? "-0" : String(text)
    }

    static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

private struct Reader {
    let bytes: [UInt8]
    let maxDepth: Int
    var index = 0

    init(bytes: [UInt8], maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    typealias Malformed = OrderedJSON.Malformed

    mutating func skipSpace() {
        while index < bytes.count, [0x20, 0x09, 0x0a, 0x0d].contains(bytes[index]) { index += 1 }
    }

    mutating func value(depth: Int) throws(Malformed) -> OrderedJSON {
        guard depth <= maxDepth else { throw Malformed(reason: "JSON nested deeper than \(maxDepth) levels.") }
        skipSpace()
        guard index < bytes.count else { throw Malformed(reason: "The JSON ends too early.") }
        switch bytes[index] {
        case UInt8(ascii: "{"):
            index += 1
            var members = [OrderedJSON.Member]()
            skipSpace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                index += 1
                return .object(members)
            }
            while true {
                skipSpace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                    throw Malformed(reason: "An object member name must be a string.")
                }
                let name = try string()
                skipSpace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw Malformed(reason: "Expected ':' after a member name.") }
                index += 1
                members.append(.init(name, try value(depth: depth + 1)))
                skipSpace()
                guard index < bytes.count else { throw Malformed(reason: "The JSON ends inside an object.") }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                if bytes[index] == UInt8(ascii: "}") {
                    index += 1
                    return .object(members)
                }
                throw Malformed(reason: "Expected ',' or '}' in an object.")
            }
        case UInt8(ascii: "["):
            index += 1
            var items = [OrderedJSON]()
            skipSpace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                index += 1
                return .array(items)
            }
            while true {
                items.append(try value(depth: depth + 1))
                skipSpace()
                guard index < bytes.count else { throw Malformed(reason: "The JSON ends inside an array.") }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                if bytes[index] == UInt8(ascii: "]") {
                    index += 1
                    return .array(items)
                }
                throw Malformed(reason: "Expected ',' or ']' in an array.")
            }
        case UInt8(ascii: "\""):
            return .string(try string())
        case UInt8(ascii: "t"):
            try literal("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try literal("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try literal("null")
            return .null
        default:
            return .number(try number())
        }
    }

    mutating func literal(_ word: String) throws(Malformed) {
        let expected = Array(word.utf8)
        guard bytes.count - index >= expected.count, Array(bytes[index..<index + expected.count]) == expected else {
            throw Malformed(reason: "Unexpected characters in the JSON.")
        }
        index += expected.count
    }

    mutating func number() throws(Malformed) -> String {
        let start = index
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
        func digits(_ reader: inout Reader) -> Int {
            let from = reader.index
            while reader.index < reader.bytes.count, (0x30...0x39).contains(reader.bytes[reader.index]) { reader.index += 1 }
            return reader.index - from
        }
        guard digits(&self) > 0 else { throw Malformed(reason: "Unexpected characters in the JSON.") }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard digits(&self) > 0 else { throw Malformed(reason: "A number has no digits after its decimal point.") }
        }
        if index < bytes.count, bytes[index] | 0x20 == UInt8(ascii: "e") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard digits(&self) > 0 else { throw Malformed(reason: "A number has an empty exponent.") }
        }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    mutating func string() throws(Malformed) -> String {
        index += 1  // opening quote
        var out = [UInt8]()
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                guard let text = String(validating: out, as: UTF8.self) else { throw Malformed(reason: "A JSON string is not valid UTF-8.") }
                return text
            case UInt8(ascii: "\\"):
                guard index < bytes.count else { break }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escape)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0c)
                case UInt8(ascii: "n"): out.append(0x0a)
                case UInt8(ascii: "r"): out.append(0x0d)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800...0xDBFF).contains(scalar) {
                        guard bytes.count - index >= 6, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                            throw Malformed(reason: "A JSON string has an unpaired surrogate escape.")
                        }
                        index += 2
                        let low = try hex4()
                        guard (0xDC00...0xDFFF).contains(low) else { throw Malformed(reason: "A JSON string has an unpaired surrogate escape.") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let unicode = Unicode.Scalar(scalar) else { throw Malformed(reason: "A JSON string has an invalid \\u escape.") }
                    out.append(contentsOf: Array(String(Character(unicode)).utf8))
                default:
                    throw Malformed(reason: "A JSON string has an invalid escape.")
                }
            case 0..<0x20:
                throw Malformed(reason: "A JSON string holds an unescaped control character.")
            default:
                out.append(byte)
            }
        }
        throw Malformed(reason: "A JSON string is not closed.")
    }

    static func hexDigit(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    mutating func hex4() throws(Malformed) -> UInt32 {
        guard bytes.count - index >= 4 else { throw Malformed(reason: "A JSON string has a short \\u escape.") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let digit = Self.hexDigit(bytes[index]) else { throw Malformed(reason: "A JSON string has an invalid \\u escape.") }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }
}
