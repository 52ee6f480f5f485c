import Foundation
import KeywardCrypto

/// The AliKassa wire dialect: `Account: <uuid>` and `Sign: base64(RSA-PKCS1-v1_5(raw body bytes))`.
/// The provider's documents disagree on the hash: SHA-256 is the default, SHA-1 only for keys flagged legacy.
public enum AliKassa {
    /// The header naming the account (store).
    public static let accountHeader = "Account"
    /// The header carrying the signature.
    public static let signatureHeader = "Sign"

    /// The `Sign` header value for `body`.
    public static func sign(body: [UInt8], with key: RSASigningKey, digest: SignatureDigest = .sha256) throws -> String {
        Data(try key.signPKCS1v15(body, digest: digest)).base64EncodedString()
    }

    /// Checks a `Sign` header against the exact body bytes received.
    public static func verify(body: [UInt8], signature: String?, with key: VerificationKey, digest: SignatureDigest = .sha256) -> SignatureCheck {
        guard let signature, !signature.isEmpty else { return .missing("Sign header") }
        guard let bytes = SignatureCheck.decodeBase64(signature), !bytes.isEmpty else {
            return .invalid(code: .signatureInvalid, reason: "The Sign header is not base64.")
        }
        return key.isValidPKCS1v15Signature(bytes, for: body, digest: digest) ? .valid : .mismatch
    }
}
