import Crypto
import Foundation

// Hand-written on purpose, although hummingbird-auth (already a dependency) has a `HummingbirdOTP`
// product with `TOTP.compute(date:)`. It cannot compute our users' codes: its `secret` is a `String`
// and it keys the HMAC with `secret.utf8`, while every secret enrolled here is 20 random bytes (RFC 4226's
// length, sealed in `users`), which are almost never valid UTF-8; a `String` made from them replaces the
// invalid bytes with U+FFFD, so every enrolled authenticator would stop matching. It also brings in
// Hummingbird (HummingbirdOTP depends on HummingbirdAuth, which depends on the server framework), so it
// could not live in this leaf library, and it has no verification window, no replay refusal and no
// constant-time comparison, which are the parts of this file that matter. Checked against
// hummingbird-auth 2.5.0 (Sources/HummingbirdOTP/OTP.swift); revisit if it ever takes `[UInt8]` secrets.

/// Time-based one-time passwords (RFC 6238 over RFC 4226 HOTP, HMAC-SHA-1, the algorithm every
/// authenticator app speaks), with the checks the RFC leaves to the verifier: a window of one step
/// either side for clock drift, and replay refusal (a step at or before the last accepted one).
public struct TOTP: Sendable {
    public let secret: [UInt8]
    public let digits: Int
    public let period: Int64

    public init(secret: [UInt8], digits: Int = 6, period: Int64 = 30) {
        self.secret = secret
        self.digits = digits
        self.period = period
    }

    /// A new 160-bit secret (RFC 4226's recommended length).
    public static func generateSecret() -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<20).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }

    /// The time step of `date`.
    public func step(at date: Date) -> Int64 { Int64(date.timeIntervalSince1970.rounded(.down)) / period }

    /// The code of `step`, zero-padded to `digits`.
    public func code(step: Int64) -> String {
        var counter = UInt64(bitPattern: step).bigEndian
        let message = withUnsafeBytes(of: &counter) { Array($0) }
        let mac = Array(HMAC<Insecure.SHA1>.authenticationCode(for: message, using: SymmetricKey(data: secret)))
        let offset = Int(mac[mac.count - 1] & 0x0f)
        let binary = (UInt32(mac[offset] & 0x7f) << 24) | (UInt32(mac[offset + 1]) << 16) | (UInt32(mac[offset + 2]) << 8) | UInt32(mac[offset + 3])
        var modulus: UInt32 = 1
        for _ in 0..<digits { modulus *= 10 }
        let value = String(binary % modulus)
        return String(repeating: "0", count: digits - value.count) + value
    }

    public func code(at date: Date) -> String { code(step: step(at: date)) }

    /// The step `code` belongs to, within `window` steps of `date` and after `lastAcceptedStep`; nil
    /// when it matches none (wrong, too old, or already used). Compared in constant time.
    public func verify(_ code: String, at date: Date, window: Int64 = 1, after lastAcceptedStep: Int64?) -> Int64? {
        let presented = Array(code.filter { !$0.isWhitespace }.utf8)
        guard presented.count == digits else { return nil }
        let now = step(at: date)
        var matched: Int64?
        for candidate in (now - window)...(now + window) where candidate > (lastAcceptedStep ?? .min) {
            if ConstantTime.equals(Array(self.code(step: candidate).utf8), presented) && matched == nil { matched = candidate }
        }
        return matched
    }

    /// The `otpauth://` URI authenticator apps read from a QR code.
    public func provisioningURI(account: String, issuer: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~@")
        let issuerParameter = issuer.addingPercentEncoding(withAllowedCharacters: allowed) ?? issuer
        let label = issuerParameter + ":" + (account.addingPercentEncoding(withAllowedCharacters: allowed) ?? account)
        return "otpauth://totp/\(label)?secret=\(Base32.encode(secret))&issuer=\(issuerParameter)&algorithm=SHA1&digits=\(digits)&period=\(period)"
    }
}

/// RFC 4648 base32 (upper case, no padding), as authenticator apps show secrets.
public enum Base32 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".utf8)

    public static func encode(_ bytes: [UInt8]) -> String {
        var output: [UInt8] = []
        var buffer: UInt32 = 0
        var bits = 0
        for byte in bytes {
            buffer = (buffer << 8) | UInt32(byte)
            bits += 8
            while bits >= 5 {
                output.append(alphabet[Int((buffer >> UInt32(bits - 5)) & 31)])
                bits -= 5
            }
        }
        if bits > 0 { output.append(alphabet[Int((buffer << UInt32(5 - bits)) & 31)]) }
        return String(decoding: output, as: UTF8.self)
    }

    /// Decodes, ignoring case, spaces and padding; nil on any other character.
    public static func decode(_ text: String) -> [UInt8]? {
        var output: [UInt8] = []
        var buffer: UInt32 = 0
        var bits = 0
        for character in text.uppercased().utf8 where character != UInt8(ascii: " ") && character != UInt8(ascii: "=") {
            guard let value = alphabet.firstIndex(of: character) else { return nil }
            buffer = (buffer << 5) | UInt32(value)
            bits += 5
            if bits >= 8 {
                output.append(UInt8((buffer >> UInt32(bits - 8)) & 0xff))
                bits -= 8
            }
        }
        return output
    }
}
