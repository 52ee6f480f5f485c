/// `application/x-www-form-urlencoded` bodies as ordered name/value pairs: myPOS signatures cover the
/// values in the order sent, so a dictionary would lose what is signed.
public enum FormEncoding {
    /// A body that is not valid form encoding.
    public struct MalformedForm: Error, Sendable, Equatable {
        public let reason: String
    }

    /// Decodes `body`: pairs split on `&`, name and value on the first `=`, `+` is a space, `%XX` escapes.
    public static func decode(_ body: some Collection<UInt8>) throws(MalformedForm) -> [(name: String, value: String)] {
        try decode(bytes: Array(body))
    }

    /// The same over an array: index loops on contiguous bytes (the gateway decodes every myPOS form,
    /// and generic collection code across modules is not specialized).
    public static func decode(bytes: [UInt8]) throws(MalformedForm) -> [(name: String, value: String)] {
        var pairs: [(name: String, value: String)] = []
        var start = 0
        let end = bytes.count
        while start <= end {
            var stop = start
            while stop < end && bytes[stop] != UInt8(ascii: "&") { stop += 1 }
            if stop > start {
                var equals = start
                while equals < stop && bytes[equals] != UInt8(ascii: "=") { equals += 1 }
                let name = try unescape(bytes, from: start, to: equals)
                let value = equals < stop ? try unescape(bytes, from: equals + 1, to: stop) : ""
                pairs.append((name, value))
            }
            start = stop + 1
        }
        return pairs
    }

    /// The pairs as sent, still escaped (only split on `&` and the first `=`), to tell what a client signed.
    public static func rawPairs(_ body: some Collection<UInt8>) -> [(name: String, value: String)] {
        body.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true).map { part in
            guard let equals = part.firstIndex(of: UInt8(ascii: "=")) else { return (String(decoding: part, as: UTF8.self), "") }
            return (String(decoding: part[..<equals], as: UTF8.self), String(decoding: part[part.index(after: equals)...], as: UTF8.self))
        }
    }

    /// Encodes pairs in order, escaping everything but unreserved characters (RFC 3986), as PHP's
    /// `http_build_query` does with `PHP_QUERY_RFC3986`.
    public static func encode(_ pairs: [(name: String, value: String)]) -> String {
        pairs.map { escape($0.name) + "=" + escape($0.value) }.joined(separator: "&")
    }

    static func unescape(_ bytes: [UInt8], from start: Int, to end: Int) throws(MalformedForm) -> String {
        var out = [UInt8]()
        out.reserveCapacity(end - start)
        var index = start
        while index < end {
            let byte = bytes[index]
            if byte == UInt8(ascii: "+") {
                out.append(0x20)
            } else if byte == UInt8(ascii: "%") {
                guard index + 2 < end, let high = hexValue(bytes[index + 1]), let low = hexValue(bytes[index + 2]) else {
                    throw MalformedForm(reason: "A '%' escape in the form body is not followed by two hex digits.")
                }
                out.append(high << 4 | low)
                index += 2
            } else {
                out.append(byte)
            }
            index += 1
        }
        guard let text = String(validating: out, as: UTF8.self) else {
            throw MalformedForm(reason: "The form body is not valid UTF-8 once decoded.")
        }
        return text
    }

    static func escape(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += "%" + String(byte >> 4, radix: 16, uppercase: true) + String(byte & 0x0f, radix: 16, uppercase: true)
            }
        }
        return out
    }

    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
