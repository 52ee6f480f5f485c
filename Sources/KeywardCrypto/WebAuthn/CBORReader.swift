/// A small CBOR (RFC 8949) reader for what WebAuthn sends: attestation objects, COSE keys and the
/// extensions of authenticator data. Hand-written because no CBOR library is in our Swift package
/// mirror; it reads only definite-length items (WebAuthn's CTAP2 canonical encoding has no others),
/// refuses indefinite lengths, tags it does not need, floats, and nesting deeper than 16, and never
/// trusts a length before checking the bytes are there.
public indirect enum CBORValue: Sendable, Equatable {
    case unsigned(UInt64)
    /// A negative integer: the value is `-1 - n`.
    case negative(UInt64)
    case bytes([UInt8])
    case text(String)
    case array([CBORValue])
    /// Pairs in the order they were sent (keys compared with `==` by the lookups).
    case map([(CBORValue, CBORValue)])
    case bool(Bool)
    case null
    case undefined

    public static func == (lhs: CBORValue, rhs: CBORValue) -> Bool {
        switch (lhs, rhs) {
        case let (.unsigned(a), .unsigned(b)), let (.negative(a), .negative(b)): a == b
        case let (.bytes(a), .bytes(b)): a == b
        case let (.text(a), .text(b)): a == b
        case let (.array(a), .array(b)): a == b
        case let (.map(a), .map(b)): a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        case let (.bool(a), .bool(b)): a == b
        case (.null, .null), (.undefined, .undefined): true
        default: false
        }
    }

    /// The integer, when this is one that fits an Int.
    public var int: Int? {
        switch self {
        case .unsigned(let n): n <= UInt64(Int.max) ? Int(n) : nil
        case .negative(let n): n < UInt64(Int.max) ? -1 - Int(n) : nil
        default: nil
        }
    }

    public var byteString: [UInt8]? { if case .bytes(let b) = self { b } else { nil } }
    public var textString: String? { if case .text(let t) = self { t } else { nil } }

    /// The value under `key` in a map.
    public subscript(key: CBORValue) -> CBORValue? {
        guard case .map(let pairs) = self else { return nil }
        return pairs.first { $0.0 == key }?.1
    }

    public subscript(int key: Int) -> CBORValue? { self[key < 0 ? .negative(UInt64(-1 - key)) : .unsigned(UInt64(key))] }
    public subscript(text key: String) -> CBORValue? { self[.text(key)] }
}

/// Reads CBOR items from bytes; `offset` says where the next item starts (authenticator data holds a
/// COSE key followed by more bytes, so a caller needs to know where one item ended).
public struct CBORReader {
    public let bytes: [UInt8]
    public private(set) var offset: Int
    static let maximumDepth = 16

    public init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    /// Decodes exactly one item from `bytes`, refusing trailing bytes.
    public static func decode(_ bytes: [UInt8]) throws(CodedInputError) -> CBORValue {
        var reader = CBORReader(bytes)
        let value = try reader.read()
        guard reader.offset == bytes.count else { throw Self.malformed("trailing bytes after the CBOR item") }
        return value
    }

    /// Reads the next item.
    public mutating func read() throws(CodedInputError) -> CBORValue { try read(depth: 0) }

    static func malformed(_ why: String) -> CodedInputError { CodedInputError(.webauthnMalformed, "Malformed CBOR: \(why).") }

    private mutating func byte() throws(CodedInputError) -> UInt8 {
        guard offset < bytes.count else { throw Self.malformed("the data ends early") }
        defer { offset += 1 }
        return bytes[offset]
    }

    private mutating func take(_ count: UInt64) throws(CodedInputError) -> [UInt8] {
        guard count <= UInt64(bytes.count - offset) else { throw Self.malformed("a length runs past the end") }
        let end = offset + Int(count)
        defer { offset = end }
        return Array(bytes[offset..<end])
    }

    private mutating func argument(_ info: UInt8) throws(CodedInputError) -> UInt64 {
        switch info {
        case 0..<24: return UInt64(info)
        case 24, 25, 26, 27:
            let width = 1 << Int(info - 24)
            return try take(UInt64(width)).reduce(0) { $0 << 8 | UInt64($1) }
        default: throw Self.malformed("indefinite lengths and reserved values are not accepted")
        }
    }

    private mutating func read(depth: Int) throws(CodedInputError) -> CBORValue {
        guard depth <= Self.maximumDepth else { throw Self.malformed("nested too deep") }
        let initial = try byte()
        let major = initial >> 5
        let info = initial & 0x1f
        switch major {
        case 0: return .unsigned(try argument(info))
        case 1: return .negative(try argument(info))
        case 2: return .bytes(try take(try argument(info)))
        case 3:
            guard let text = String(validating: try take(try argument(info)), as: UTF8.self) else {
                throw Self.malformed("a text string is not UTF-8")
            }
            return .text(text)
        case 4:
            let count = try argument(info)
            // Each item takes at least a byte: a count beyond what is left is a lie, not an allocation.
            guard count <= UInt64(bytes.count - offset) else { throw Self.malformed("an array is longer than the data") }
            var items: [CBORValue] = []
            for _ in 0..<count { items.append(try read(depth: depth + 1)) }
            return .array(items)
        case 5:
            let count = try argument(info)
            guard count <= UInt64(bytes.count - offset) / 2 else { throw Self.malformed("a map is longer than the data") }
            var pairs: [(CBORValue, CBORValue)] = []
            for _ in 0..<count {
                let key = try read(depth: depth + 1)
                guard !pairs.contains(where: { $0.0 == key }) else { throw Self.malformed("a map repeats a key") }
                pairs.append((key, try read(depth: depth + 1)))
            }
            return .map(pairs)
        case 7:
            switch info {
            case 20: return .bool(false)
            case 21: return .bool(true)
            case 22: return .null
            case 23: return .undefined
            default: throw Self.malformed("floats and other simple values are not accepted")
            }
        default: throw Self.malformed("tags are not accepted")
        }
    }
}
