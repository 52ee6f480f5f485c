import Foundation
import KeywardCrypto

/// The myPOS Checkout (IPC) wire dialect.
///
/// `Signature = base64(RSA-PKCS1-v1_5-SHA256(base64(v1 + "-" + v2 + "-" + … )))` over the decoded values of
/// every parameter except `Signature`, in the order sent; empty values count.
public enum MyPOSIPC {
    /// The parameter that carries the signature.
    public static let signatureParameter = "Signature"

    /// The bytes that are signed: the ASCII of base64 of the values joined by `-`.
    public static func signedContent(values: [String]) -> [UInt8] {
        Array(Data(values.joined(separator: "-").utf8).base64EncodedData())
    }

    /// The `Signature` value for `parameters` (any `Signature` among them is skipped).
    public static func sign(_ parameters: [(name: String, value: String)], with key: RSASigningKey) throws -> String {
        let values = parameters.filter { $0.name != signatureParameter }.map(\.value)
        return Data(try key.signPKCS1v15(signedContent(values: values), digest: .sha256)).base64EncodedString()
    }

    /// `parameters` with their `Signature` appended last, as myPOS sends them.
    public static func signed(_ parameters: [(name: String, value: String)], with key: RSASigningKey) throws -> [(name: String, value: String)] {
        let unsigned = parameters.filter { $0.name != signatureParameter }
        return unsigned + [(signatureParameter, try sign(unsigned, with: key))]
    }

    /// Checks the `Signature` of `parameters` against `key`.
    public static func verify(_ parameters: [(name: String, value: String)], with key: VerificationKey) -> SignatureCheck {
        let signatures = parameters.filter { $0.name == signatureParameter }
        guard let signature = signatures.first else { return .missing("Signature parameter") }
        guard signatures.count == 1 else {
            return .invalid(code: .signatureInvalid, reason: "The Signature parameter appears more than once.")
        }
        var seen = Set<String>()
        for parameter in parameters where !seen.insert(parameter.name).inserted {
            return .invalid(
                code: .duplicateParameter,
                reason: "Parameter '\(parameter.name.prefix(64))' appears more than once; myPOS signs each parameter once."
            )
        }
        guard let bytes = SignatureCheck.decodeBase64(signature.value), !bytes.isEmpty else {
            return .invalid(code: .signatureInvalid, reason: "The Signature parameter is not base64.")
        }
        let values = parameters.filter { $0.name != signatureParameter }.map(\.value)
        return key.isValidPKCS1v15Signature(bytes, for: signedContent(values: values), digest: .sha256) ? .valid : .mismatch
    }

    /// A JSON answer signed the myPOS way: any top-level `Signature` dropped, the remaining leaf values
    /// depth-first in document order (see `OrderedJSON.leafValues`), the new `Signature` added last.
    public static func signJSON(_ document: OrderedJSON, with key: RSASigningKey) throws -> OrderedJSON {
        guard case .object(let members) = document else { return document }
        let unsigned = members.filter { $0.name != signatureParameter }
        let values = OrderedJSON.object(unsigned).leafValues
        let signature = Data(try key.signPKCS1v15(signedContent(values: values), digest: .sha256)).base64EncodedString()
        return .object(unsigned + [.init(signatureParameter, .string(signature))])
    }

    /// Checks the top-level `Signature` of a JSON answer against `key`.
    public static func verifyJSON(_ document: OrderedJSON, with key: VerificationKey) -> SignatureCheck {
        guard case .object(let members) = document else { return .missing("JSON object with a Signature") }
        let signatures = members.filter { $0.name == signatureParameter }
        guard signatures.count == 1, case .string(let signature) = signatures[0].value else { return .missing("Signature member") }
        guard let bytes = SignatureCheck.decodeBase64(signature), !bytes.isEmpty else {
            return .invalid(code: .signatureInvalid, reason: "The Signature member is not base64.")
        }
        let values = OrderedJSON.object(members.filter { $0.name != signatureParameter }).leafValues
        return key.isValidPKCS1v15Signature(bytes, for: signedContent(values: values), digest: .sha256) ? .valid : .mismatch
    }
}
