import Foundation
import KeywardCrypto

/// Explains why a provider-dialect signature fails by trying the mistakes integrators make (another key
/// index, parameters sorted, empty values left out, encoded values, SHA-1, a parameter added after
/// signing, a changed line break). Pure; only the signature's owner learns which of their own keys or
/// habits matches, and no secret is involved.
public enum SignatureDiagnosis {
    /// A mistake that reproduces the signature, or `nil` when none does.
    public struct Explanation: Sendable, Equatable {
        public let code: ErrorCode
        public let reason: String
    }

    /// Why a myPOS form signed with `claimed` (the key its `KeyIndex` names) does not verify.
    /// `otherKeys` are the store's other active keys; `rawPairs` the form's name/value pairs as sent
    /// (still URL-encoded), to recognise encoded values.
    public static func myPOS(
        _ parameters: [(name: String, value: String)],
        rawPairs: [(name: String, value: String)],
        claimed: (index: Int, key: VerificationKey),
        otherKeys: [(index: Int, key: VerificationKey)]
    ) -> Explanation? {
        guard let text = parameters.last(where: { $0.name == MyPOSIPC.signatureParameter })?.value,
            let signature = SignatureCheck.decodeBase64(text), !signature.isEmpty
        else { return nil }
        let unsigned = parameters.filter { $0.name != MyPOSIPC.signatureParameter }
        let values = unsigned.map(\.value)
        func verifies(_ content: [UInt8], key: VerificationKey = claimed.key, digest: SignatureDigest = .sha256) -> Bool {
            key.isValidPKCS1v15Signature(signature, for: content, digest: digest)
        }
        for other in otherKeys where verifies(MyPOSIPC.signedContent(values: values), key: other.key) {
            return Explanation(
                code: .unknownKeyIndex,
                reason:
                    "The form was signed with the private key of key index \(other.index), but KeyIndex says \(claimed.index). Send KeyIndex=\(other.index), or sign with key index \(claimed.index)'s key."
            )
        }
        let sorted = unsigned.sorted { $0.name < $1.name }.map(\.value)
        if verifies(MyPOSIPC.signedContent(values: sorted)) {
            return Explanation(
                code: .signatureInvalid,
                reason: "The values were signed in alphabetical order of their names; myPOS signs them in the order they are sent."
            )
        }
        if verifies(MyPOSIPC.signedContent(values: values.filter { !$0.isEmpty })) {
            return Explanation(code: .signatureInvalid, reason: "Empty values were left out when signing; every parameter counts, empty ones too.")
        }
        let raw = rawPairs.filter { $0.name != MyPOSIPC.signatureParameter }.map(\.value)
        if raw != values, verifies(MyPOSIPC.signedContent(values: raw)) {
            return Explanation(code: .signatureInvalid, reason: "The URL-encoded values were signed; sign the plain (decoded) values.")
        }
        if verifies(Array(values.joined(separator: "-").utf8)) {
            return Explanation(
                code: .signatureInvalid,
                reason: "The joined values were signed without base64-encoding them first; sign base64(v1-v2-…)."
            )
        }
        if verifies(MyPOSIPC.signedContent(values: values), digest: .sha1) {
            return Explanation(code: .signatureInvalid, reason: "The form was signed with SHA-1; myPOS signatures use SHA-256.")
        }
        if unsigned.count <= 200 {
            for (index, parameter) in unsigned.enumerated() {
                var without = values
                without.remove(at: index)
                if verifies(MyPOSIPC.signedContent(values: without)) {
                    return Explanation(
                        code: .signatureInvalid,
                        reason:
                            "Parameter '\(parameter.name.prefix(64))' was not signed: it was added or moved after signing. Sign every parameter you send."
                    )
                }
            }
        }
        return nil
    }

    /// Why an AliKassa `Sign` over `body` does not verify with any of `keys` as registered.
    public static func aliKassa(
        body: [UInt8],
        signature text: String,
        keys: [(index: Int, key: VerificationKey, digest: SignatureDigest)]
    ) -> Explanation? {
        guard let signature = SignatureCheck.decodeBase64(text), !signature.isEmpty else { return nil }
        for entry in keys {
            let other: SignatureDigest = entry.digest == .sha256 ? .sha1 : .sha256
            if entry.key.isValidPKCS1v15Signature(signature, for: body, digest: other) {
                let advice =
                    other == .sha1
                    ? "Sign with SHA-256, or register key index \(entry.index) as legacy (legacy_sha1) if your integration cannot change."
                    : "Key index \(entry.index) is registered as legacy (SHA-1); sign with SHA-1 or register the key again without legacy_sha1."
                return Explanation(code: .signatureInvalid, reason: "The body was signed with \(other.rawValue.uppercased()). \(advice)")
            }
            var variants: [(bytes: [UInt8], reason: String)] = []
            if body.last == 0x0a {
                variants.append((Array(body.dropLast()), "The body gained a trailing line break after signing; send the exact bytes you signed."))
            }
            variants.append((body + [0x0a], "The signed body ended with a line break that was not sent; send the exact bytes you signed."))
            let trimmed = Array(String(decoding: body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines).utf8)
            if trimmed != body { variants.append((trimmed, "Whitespace around the body changed after signing; send the exact bytes you signed.")) }
            for variant in variants where entry.key.isValidPKCS1v15Signature(signature, for: variant.bytes, digest: entry.digest) {
                return Explanation(code: .signatureInvalid, reason: variant.reason)
            }
        }
        return nil
    }
}
