/// Where a body stops being JSON (RFC 8259), for the 400 `invalid_json` answer: a one-pass scan, run
/// before Foundation's parser (which lets a trailing comma through and cannot say where a body broke), that names the position (byte offset, line and column) and
/// what was expected there. It never repeats the body's text: a key pasted into the wrong place must not
/// come back in an error or a log line, so what was found is told by its class ("a letter", "a digit"),
/// and only structural punctuation (one character, never a secret) is shown as itself.
///
/// The scan keeps its nesting on an explicit stack, so a body of 64 KiB of `[` cannot exhaust the
/// thread's stack.
struct JSONSyntaxError: Equatable, CustomStringConvertible {
    /// Offset of the offending byte from the start of the body (0-based; the body's length at its end).
    let offset: Int
    /// 1-based line.
    let line: Int
    /// 1-based column, counted in characters (not bytes) from the start of the line.
    let column: Int
    let expected: String
    let found: String

    var description: String { "at line \(line), column \(column) (byte \(offset)): expected \(expected), found \(found)" }
}

enum JSONSyntax {
    /// The first place `bytes` is not one JSON text, or nil when it is one.
    static func firstError(in bytes: [UInt8]) -> JSONSyntaxError? {
        var scanner = Scanner(bytes: bytes)
        guard let (offset, expected, found) = scanner.run() else { return nil }
        return locate(offset, in: bytes, expected: expected, found: found)
    }

    private static func locate(_ offset: Int, in bytes: [UInt8], expected: String, found: String) -> JSONSyntaxError {
        var line = 1
        var column = 1
        for byte in bytes[..<min(offset, bytes.count)] {
            if byte == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {
                // A UTF-8 continuation byte belongs to the character before it.
                column += 1
            }
        }
        return JSONSyntaxError(offset: offset, line: line, column: column, expected: expected, found: found)
    }

    /// What a byte is, in words that never carry the body's content.
    static func describe(_ byte: UInt8) -> String {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "_"): "a letter"
        case UInt8(ascii: "0")...UInt8(ascii: "9"): "a digit"
        case 0x21...0x7E: "'\(Character(Unicode.Scalar(byte)))'"
        case 0x80...: "a non-ASCII character"
        default: "a control character"
        }
    }

    private struct Scanner {
        let bytes: [UInt8]
        var index = 0

        enum Expecting {
            case value, valueOrClose, nameOrClose, name, colon, commaOrClose, end

            var words: String {
                switch self {
                case .value: "a value (object, array, string, number, true, false or null)"
                case .valueOrClose: "a value or ']'"
                case .nameOrClose: "a field name in double quotes or '}'"
                case .name: "a field name in double quotes"
                case .colon: "':' after the field name"
                case .commaOrClose: "',' or the closing bracket"
                case .end: "the end of the body"
                }
            }
        }

        typealias Failure = (offset: Int, expected: String, found: String)

        init(bytes: [UInt8]) { self.bytes = bytes }

        func found(at offset: Int) -> String { offset < bytes.count ? JSONSyntax.describe(bytes[offset]) : "the end of the body" }

        func fail(_ expected: String, at offset: Int? = nil) -> Failure {
            let offset = offset ?? index
            return (offset, expected, found(at: offset))
        }

        mutating func run() -> Failure? {
            // A UTF-8 byte order mark may be ignored (RFC 8259 §8.1).
            if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { index = 3 }
            var open: [UInt8] = []
            var expecting = Expecting.value
            func afterValue() -> Expecting { open.isEmpty ? .end : .commaOrClose }
            while true {
                while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
                guard index < bytes.count else { return expecting == .end ? nil : fail(expecting.words) }
                let byte = bytes[index]
                switch expecting {
                case .value, .valueOrClose:
                    if expecting == .valueOrClose, byte == UInt8(ascii: "]") {
                        open.removeLast()
                        index += 1
                        expecting = afterValue()
                        continue
                    }
                    switch byte {
                    case UInt8(ascii: "{"):
                        open.append(byte)
                        index += 1
                        expecting = .nameOrClose
                    case UInt8(ascii: "["):
                        open.append(byte)
                        index += 1
                        expecting = .valueOrClose
                    case UInt8(ascii: "\""):
                        if let failure = string() { return failure }
                        expecting = afterValue()
                    case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                        if let failure = number() { return failure }
                        expecting = afterValue()
                    default:
                        guard let word = ["true", "false", "null"].first(where: { matches($0) }) else { return fail(expecting.words) }
                        index += word.utf8.count
                        expecting = afterValue()
                    }
                case .nameOrClose, .name:
                    if expecting == .nameOrClose, byte == UInt8(ascii: "}") {
                        open.removeLast()
                        index += 1
                        expecting = afterValue()
                    } else if byte == UInt8(ascii: "\"") {
                        if let failure = string() { return failure }
                        expecting = .colon
                    } else {
                        return fail(expecting.words)
                    }
                case .colon:
                    guard byte == UInt8(ascii: ":") else { return fail(expecting.words) }
                    index += 1
                    expecting = .value
                case .commaOrClose:
                    let inObject = open.last == UInt8(ascii: "{")
                    if byte == UInt8(ascii: ",") {
                        index += 1
                        expecting = inObject ? .name : .value
                    } else if byte == UInt8(ascii: inObject ? "}" : "]") {
                        open.removeLast()
                        index += 1
                        expecting = afterValue()
                    } else {
                        return fail(inObject ? "',' or '}'" : "',' or ']'")
                    }
                case .end:
                    return fail(expecting.words)
                }
            }
        }

        /// A whole literal (`true`, `false`, `null`) at `index`, not followed by a letter or digit.
        func matches(_ word: String) -> Bool {
            let end = index + word.utf8.count
            guard end <= bytes.count, bytes[index..<end].elementsEqual(word.utf8) else { return false }
            return end == bytes.count || !["a letter", "a digit"].contains(JSONSyntax.describe(bytes[end]))
        }

        /// A string starting at the `"` at `index`; on success `index` is just past its closing quote.
        mutating func string() -> Failure? {
            index += 1
            while index < bytes.count {
                let byte = bytes[index]
                switch byte {
                case UInt8(ascii: "\""):
                    index += 1
                    return nil
                case UInt8(ascii: "\\"):
                    index += 1
                    guard index < bytes.count else { return fail("an escape after '\\'") }
                    switch bytes[index] {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                        UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                        index += 1
                    case UInt8(ascii: "u"):
                        index += 1
                        for _ in 0..<4 {
                            guard index < bytes.count, bytes[index].isHexDigit else { return fail("four hex digits after '\\u'") }
                            index += 1
                        }
                    default:
                        return fail("an escape (\\\", \\\\, \\/, \\b, \\f, \\n, \\r, \\t or \\uXXXX)")
                    }
                case 0..<0x20:
                    return fail("'\"' to end the string, or an escape such as \\n (control characters must be escaped)")
                case 0x80...:
                    guard let length = utf8Length(at: index) else { return fail("UTF-8 text in the string") }
                    index += length
                default:
                    index += 1
                }
            }
            return fail("'\"' to end the string")
        }

        /// The length of the well-formed UTF-8 sequence at `offset` (RFC 3629 §4), nil when it is not one.
        func utf8Length(at offset: Int) -> Int? {
            let lead = bytes[offset]
            let (length, second): (Int, ClosedRange<UInt8>) =
                switch lead {
                case 0xC2...0xDF: (2, 0x80...0xBF)
                case 0xE0: (3, 0xA0...0xBF)
                case 0xE1...0xEC, 0xEE...0xEF: (3, 0x80...0xBF)
                case 0xED: (3, 0x80...0x9F)
                case 0xF0: (4, 0x90...0xBF)
                case 0xF1...0xF3: (4, 0x80...0xBF)
                case 0xF4: (4, 0x80...0x8F)
                default: (0, 0...0)
                }
            guard length > 0, offset + length <= bytes.count, second.contains(bytes[offset + 1]) else { return nil }
            for continuation in bytes[(offset + 2)..<(offset + length)] where continuation & 0xC0 != 0x80 { return nil }
            return length
        }

        /// A number (`-? int frac? exp?`) starting at `index`.
        mutating func number() -> Failure? {
            if bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard index < bytes.count, digitAt(index) else { return fail("a digit") }
            // `0` stands alone; other integers take all their digits.
            if bytes[index] == UInt8(ascii: "0") { index += 1 } else { while digit() {} }
            if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
                index += 1
                guard digit() else { return fail("a digit after '.'") }
                while digit() {}
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
                index += 1
                if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
                guard digit() else { return fail("a digit in the exponent") }
                while digit() {}
            }
            return nil
        }

        func digitAt(_ offset: Int) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[offset]) }

        /// Consumes one digit, if there is one.
        mutating func digit() -> Bool {
            guard index < bytes.count, digitAt(index) else { return false }
            index += 1
            return true
        }
    }
}

extension UInt8 {
    fileprivate var isHexDigit: Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(self)
            || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(self)
    }
}
