import Foundation

/// The outcome of checking a signed request; `code` is the stable problem code the gateway answers.
public enum SignatureCheck: Equatable, Sendable {
    case valid
    case invalid(code: String, reason: String)

    static func missing(_ what: String) -> SignatureCheck {
        .invalid(code: "signature_missing", reason: "The request has no \(what).")
    }

    static let mismatch = SignatureCheck.invalid(
        code: "signature_invalid",
        reason: "The signature does not match: the signed content changed after signing, or it was signed with another key or hash.")

    /// Decodes a base64 signature. Spaces are read as '+': a form value that was not URL-encoded turns
    /// '+' into ' ', and base64 never contains a space, so this cannot change a correct signature.
    static func decodeBase64(_ text: String) -> [UInt8]? {
        let repaired = text.replacingOccurrences(of: " ", with: "+").trimmingCharacters(in: .whitespacesAndNewlines)
        return Data(base64Encoded: repaired).map(Array.init)
    }
}
