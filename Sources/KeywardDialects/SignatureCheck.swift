import Foundation
import KeywardCrypto

/// The outcome of checking a signed request; `code` is the stable problem code the gateway answers.
public enum SignatureCheck: Equatable, Sendable {
    case valid
    case invalid(code: ErrorCode, reason: String)

    static func missing(_ what: String) -> SignatureCheck {
        .invalid(code: .signatureMissing, reason: "The request has no \(what).")
    }

    static let mismatch = SignatureCheck.invalid(
        code: .signatureInvalid,
        reason: "The signature does not match: the signed content changed after signing, or it was signed with another key or hash."
    )

    /// Decodes a base64 signature. Spaces are read as '+': a form value that was not URL-encoded turns
    /// '+' into ' ', and base64 never contains a space, so this cannot change a correct signature.
    static func decodeBase64(_ text: String) -> [UInt8]? {
        var bytes = Array(text.utf8)
        while let last = bytes.last, last == 0x20 || last == 0x0a || last == 0x0d || last == 0x09 { bytes.removeLast() }
        let first = bytes.firstIndex { !($0 == 0x20 || $0 == 0x0a || $0 == 0x0d || $0 == 0x09) } ?? bytes.endIndex
        var repaired = Array(bytes[first...])
        for index in repaired.indices where repaired[index] == 0x20 { repaired[index] = UInt8(ascii: "+") }
        return Data(base64Encoded: Data(repaired)).map(Array.init)
    }
}
