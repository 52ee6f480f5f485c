import Crypto
import Foundation

/// What identifies a signed request for replay protection, whatever its spelling: the canonical content
/// the signature covers and the signature's decoded bytes. Re-encoding the same request (`%2B` for `+`,
/// a space for `+`, padding whitespace) gives the same fingerprint, so a re-spelled replay is still a replay.
public enum ReplayFingerprint {
    /// The fingerprint of a myPOS IPC form (SHA-256, hex); nil when it carries no decodable signature.
    public static func myPOS(_ parameters: [(name: String, value: String)]) -> String? {
        guard let signature = parameters.last(where: { $0.name == MyPOSIPC.signatureParameter })?.value,
            let bytes = SignatureCheck.decodeBase64(signature), !bytes.isEmpty
        else { return nil }
        let values = parameters.filter { $0.name != MyPOSIPC.signatureParameter }.map(\.value)
        return digest(MyPOSIPC.signedContent(values: values), bytes)
    }

    /// The fingerprint of an AliKassa request: the exact body and the decoded `Sign` bytes.
    public static func aliKassa(body: [UInt8], signature: String) -> String? {
        guard let bytes = SignatureCheck.decodeBase64(signature), !bytes.isEmpty else { return nil }
        return digest(body, bytes)
    }

    /// Both parts length-prefixed, so no two (content, signature) pairs share an input.
    static func digest(_ content: [UInt8], _ signature: [UInt8]) -> String {
        var hasher = SHA256()
        for part in [content, signature] {
            withUnsafeBytes(of: UInt64(part.count).bigEndian) { hasher.update(bufferPointer: $0) }
            hasher.update(data: part)
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
