/// How a native-scheme caller presents a secret key: `Authorization: Bearer <key>` or the bare key
/// (`Authorization: <key>`, the Kashier habit). Pure parsing; no lookup.
public enum NativeAuthorization {
    /// Longest header value looked at; a real key is ~47 characters.
    public static let maximumLength = 512

    /// The outcome of reading the header.
    public enum Parsed: Equatable, Sendable {
        /// No header, or an empty one.
        case missing
        /// A candidate key (still to be validated and looked up).
        case key(String)
        /// A header that cannot hold a key; the reason is safe to show (it never echoes the value).
        case malformed(reason: String)
    }

    /// Reads an `Authorization` header value. One pass over the bytes, one string for the key: this
    /// runs on every gateway request.
    public static func parse(_ header: String?) -> Parsed {
        guard var header else { return .missing }
        return header.withUTF8(parse)
    }

    static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> Parsed {
        if bytes.count > maximumLength { return .malformed(reason: "The Authorization header is longer than any Keyward key.") }
        for c in bytes where c < 0x20 && c != 0x09 || c >= 0x7f {
            return .malformed(reason: "The Authorization header contains non-ASCII or control characters.")
        }
        let isBlank: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 }
        guard let first = bytes.firstIndex(where: { !isBlank($0) }), let last = bytes.lastIndex(where: { !isBlank($0) }) else {
            return .missing
        }
        let trimmed = UnsafeBufferPointer(rebasing: bytes[first...last])
        guard let gap = trimmed.firstIndex(where: isBlank) else {
            return .key(String(decoding: trimmed, as: UTF8.self))
        }
        let scheme = UnsafeBufferPointer(rebasing: trimmed[..<gap])
        guard let tokenStart = trimmed[gap...].firstIndex(where: { !isBlank($0) }) else {
            return .malformed(reason: "The Authorization header must be 'Bearer <key>' or the bare key.")
        }
        let token = UnsafeBufferPointer(rebasing: trimmed[tokenStart...])
        guard !token.contains(where: isBlank) else {
            return .malformed(reason: "The Authorization header must be 'Bearer <key>' or the bare key.")
        }
        let bearer: [UInt8] = Array("bearer".utf8)
        guard scheme.count == bearer.count, zip(scheme, bearer).allSatisfy({ $0 | 0x20 == $1 }) else {
            return .malformed(reason: "Unsupported authorization scheme; use 'Bearer <key>' or the bare key.")
        }
        return .key(String(decoding: token, as: UTF8.self))
    }
}
