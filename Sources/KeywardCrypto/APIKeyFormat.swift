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

    private static let testPrefix = Array("kw_test_".utf8)
    private static let livePrefix = Array("kw_live_".utf8)

    /// The prefix every key of `mode` starts with, e.g. `kw_test_`.
    public static func prefix(for mode: Mode) -> String {
        switch mode {
        case .test: "kw_test_"
        case .live: "kw_live_"
        }
    }

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
    /// Runs on every gateway request, so it works on the UTF-8 bytes and allocates nothing.
    public static func validate(_ key: String) throws(Malformation) -> Mode {
        var key = key
        let result = key.withUTF8 { bytes -> Result<Mode, Malformation> in
            do throws(Malformation) { return .success(try validate(bytes)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    static func validate(_ bytes: UnsafeBufferPointer<UInt8>) throws(Malformation) -> Mode {
        if bytes.isEmpty { throw .empty }
        if bytes.count > maximumLength * 4 { throw .tooLong }
        for c in bytes where c <= 0x20 || c >= 0x7f { throw .notASCII }
        let mode: Mode
        if bytes.starts(with: testPrefix) {
            mode = .test
        } else if bytes.starts(with: livePrefix) {
            mode = .live
        } else {
            throw .unknownPrefix
        }
        let prefixLength = testPrefix.count
        guard bytes.count == prefixLength + randomDigits + checksumDigits else { throw .wrongLength }
        var presented: UInt64 = 0
        for (index, c) in bytes.enumerated() where index >= prefixLength {
            guard let digit = Base62.value(of: c) else { throw .badCharacters }
            if index >= bytes.count - checksumDigits { presented = presented * 62 + UInt64(digit) }
        }
        let crc = CRC32.checksum(UnsafeBufferPointer(rebasing: bytes[..<(bytes.count - checksumDigits)]))
        // Not secret: the checksum only catches typos. A plain comparison is fine.
        guard presented == UInt64(crc) else { throw .checksumMismatch }
        return mode
    }

    /// The digest Keyward stores and looks keys up by (hex SHA-256). A key has ≥ 128 bits of entropy,
    /// so a fast hash is enough and keeps bcrypt off the hot path.
    public static func digest(of key: String) -> String {
        rawDigest(of: key).hex
    }

    /// The SHA-256 of `key` as a hashable value, for in-memory lookups without building a string.
    public static func rawDigest(of key: String) -> APIKeyDigest {
        var key = key
        return APIKeyDigest(key.withUTF8 { SHA256.hash(data: $0) })
    }

    /// The last four characters, safe to show in listings.
    public static func lastFour(of key: String) -> String { String(key.suffix(4)) }

    static func checksum(of body: String) -> String {
        let crc = CRC32.checksum(body.utf8)
        let bytes = [UInt8(crc >> 24 & 0xff), UInt8(crc >> 16 & 0xff), UInt8(crc >> 8 & 0xff), UInt8(crc & 0xff)]
        return Base62.encode(bytes, width: checksumDigits)
    }
}

/// SHA-256 of an API key as four words: hashable and comparable without allocating.
public struct APIKeyDigest: Hashable, Sendable {
    let words: (UInt64, UInt64, UInt64, UInt64)

    init(_ digest: SHA256.Digest) {
        words = digest.withUnsafeBytes { raw in
            (
                raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self), raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
                raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self), raw.loadUnaligned(fromByteOffset: 24, as: UInt64.self)
            )
        }
    }

    /// Lowercase hex, as stored in the database.
    public var hex: String {
        var bytes = [UInt8]()
        bytes.reserveCapacity(32)
        for word in [words.0, words.1, words.2, words.3] {
            withUnsafeBytes(of: word) { bytes.append(contentsOf: $0) }
        }
        return Hex.encode(bytes)
    }

    public static func == (lhs: APIKeyDigest, rhs: APIKeyDigest) -> Bool {
        lhs.words.0 == rhs.words.0 && lhs.words.1 == rhs.words.1 && lhs.words.2 == rhs.words.2 && lhs.words.3 == rhs.words.3
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(words.0)
        hasher.combine(words.1)
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
