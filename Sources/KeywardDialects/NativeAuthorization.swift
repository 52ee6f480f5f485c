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

    /// Reads an `Authorization` header value.
    public static func parse(_ header: String?) -> Parsed {
        guard let header else { return .missing }
        let utf8 = header.utf8
        if utf8.count > maximumLength { return .malformed(reason: "The Authorization header is longer than any Keyward key.") }
        guard utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7f }) else {
            return .malformed(reason: "The Authorization header contains non-ASCII or control characters.")
        }
        let trimmed = header.trimmingSpaces()
        if trimmed.isEmpty { return .missing }
        let parts = trimmed.split(separator: " ", omittingEmptySubsequences: true)
        switch parts.count {
        case 1:
            return .key(String(parts[0]))
        case 2 where parts[0].lowercased() == "bearer":
            return .key(String(parts[1]))
        case 2:
            return .malformed(reason: "Unsupported authorization scheme; use 'Bearer <key>' or the bare key.")
        default:
            return .malformed(reason: "The Authorization header must be 'Bearer <key>' or the bare key.")
        }
    }
}

extension String {
    func trimmingSpaces() -> String {
        var view = Substring(self)
        while view.first == " " || view.first == "\t" { view = view.dropFirst() }
        while view.last == " " || view.last == "\t" { view = view.dropLast() }
        return String(view)
    }
}
