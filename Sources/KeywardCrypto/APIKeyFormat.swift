import Crypto
import Foundation

/// The two worlds a credential lives in. A test credential never sees or touches live objects.
public enum Mode: String, Sendable, Codable, CaseIterable {
    case test
    case live
}

/// The textual shape of a Keyward secret API key: `kw_<mode>_<33 base62 random><6 base62 CRC-32>`.
///
/// 24 random bytes give 192 bits of entropy. The CRC lets the gateway reject typos and truncated
/// keys without a database lookup, and lets secret scanners recognise a real key; it protects nothing.
public struct APIKeyFormat: Sendable {
    /// Number of base62 digits that carry the random part.
    static let randomDigits = 33
    /// Number of base62 digits of the checksum.
    static let checksumDigits = 6
    /// Random bytes per key.
    static let randomBytes = 24

    /// The prefix every key of `mode` starts with, e.g. `kw_test_`.
    public static func prefix(for mode: Mode) -> String { "kw_\(mode.rawValue)_" }

    /// Longest possible key; anything longer is rejected before hashing.
    public static let maximumLength = "kw_live_".utf8.count + randomDigits + checksumDigits

    /// A new random key for `mode`.
    public static func generate(mode: Mode) -> String {
        var generator = SystemRandomNumberGenerator()
        let random = (0..<randomBytes).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let body = prefix(for: mode) + Base62.encode(random, width: randomDigits)
        return body + checksum(of: body)
    }

    /// Why a presented value is not a well-formed key.
    public enum Malformation: String, Sendable, Error {
        case empty, tooLong, notASCII, unknownPrefix, wrongLength, badCharacters, checksumMismatch
    }

    /// Checks the shape of `key` and returns its mode. Does not say whether the key exists.
    public static func validate(_ key: String) throws(Malformation) -> Mode {
        let utf8 = key.utf8
        if utf8.isEmpty { throw .empty }
        if utf8.count > maximumLength * 4 { throw .tooLong }
        guard utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else { throw .notASCII }
        let mode: Mode
        if key.hasPrefix(prefix(for: .test)) {
            mode = .test
        } else if key.hasPrefix(prefix(for: .live)) {
            mode = .live
        } else {
            throw .unknownPrefix
        }
        let prefixLength = prefix(for: mode).utf8.count
        guard utf8.count == prefixLength + randomDigits + checksumDigits else { throw .wrongLength }
        guard Base62.isValid(utf8.dropFirst(prefixLength)) else { throw .badCharacters }
        let body = String(decoding: utf8.dropLast(checksumDigits), as: UTF8.self)
        let presented = utf8.suffix(checksumDigits)
        guard ConstantTime.equals(Array(checksum(of: body).utf8), presented) else { throw .checksumMismatch }
        return mode
    }

    /// The digest Keyward stores and looks keys up by (hex SHA-256). A key has ≥ 128 bits of entropy,
    /// so a fast hash is enough and keeps bcrypt off the hot path.
    public static func digest(of key: String) -> String {
        Hex.encode(SHA256.hash(data: Array(key.utf8)))
    }

    /// The last four characters, safe to show in listings.
    public static func lastFour(of key: String) -> String { String(key.suffix(4)) }

    static func checksum(of body: String) -> String {
        let crc = CRC32.checksum(body.utf8)
        let bytes = [UInt8(crc >> 24 & 0xff), UInt8(crc >> 16 & 0xff), UInt8(crc >> 8 & 0xff), UInt8(crc & 0xff)]
        return Base62.encode(bytes, width: checksumDigits)
    }
}

/// Payment API keys (Kashier style) are HMAC keys a merchant pastes into server code; they are
/// recoverable, hence sealed at rest rather than hashed.
public enum PaymentKeyFormat {
    /// 128 random bits as lowercase hex grouped 8-4-4-4-12, the shape payment SDKs expect of an API key.
    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<16).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let hex = Array(Hex.encode(bytes))
        let groups = [0..<8, 8..<12, 12..<16, 16..<20, 20..<32]
        return groups.map { String(hex[$0]) }.joined(separator: "-")
    }

    /// Whether an imported key (a merchant bringing its existing provider key) is acceptable:
    /// 16 to 256 printable ASCII characters.
    public static func isAcceptableImport(_ value: String) -> Bool {
        let utf8 = value.utf8
        return (16...256).contains(utf8.count) && utf8.allSatisfy { $0 > 0x20 && $0 < 0x7f }
    }
}
