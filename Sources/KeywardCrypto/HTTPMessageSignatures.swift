import Crypto
import CryptoExtras
import Foundation
import RawStructuredFieldValues

/// What RFC 9421 needs to know of a request: the parts derived components come from, and the fields.
public struct HTTPRequestView: Sendable {
    public var method: String
    /// `https` or `http`.
    public var scheme: String
    /// Host and, when not the scheme's default, port; compared lowercase.
    public var authority: String
    public var path: String
    /// The query without its `?`, or `nil` when the target has none.
    public var query: String?
    /// Header fields as received, in order; names are matched case-insensitively.
    public var fields: [(name: String, value: String)]

    public init(method: String, scheme: String, authority: String, path: String, query: String?, fields: [(name: String, value: String)]) {
        self.method = method
        self.scheme = scheme
        self.authority = authority
        self.path = path
        self.query = query
        self.fields = fields
    }
}

/// The signature algorithms Keyward accepts (RFC 9421 §3.3).
public enum HTTPSignatureAlgorithm: String, Sendable, CaseIterable {
    case rsaV15SHA256 = "rsa-v1_5-sha256"
    case rsaPSSSHA512 = "rsa-pss-sha512"
    case ecdsaP256SHA256 = "ecdsa-p256-sha256"
    case ecdsaP384SHA384 = "ecdsa-p384-sha384"
    case ed25519
}

/// A failure reading or checking a message signature; `code` is the gateway's problem code.
public struct HTTPSignatureError: CodedError, Equatable {
    public let code: ErrorCode
    public let message: String

    init(_ code: ErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The same code and message, from a lower layer's refusal (a structured field that cannot be parsed).
    init(_ other: some CodedError) { self.init(other.code, other.message) }
}

/// One member of `Signature-Input`: the covered components and the signature parameters.
public struct SignatureInput: Sendable {
    public let label: String
    /// Covered component identifiers, lowercase, in order (`@method`, `content-digest`, …).
    public let components: [String]
    public let created: Int?
    public let expires: Int?
    public let nonce: String?
    public let keyID: String?
    public let algorithm: String?
    let innerList: InnerList

    /// The `@signature-params` value: this member re-serialized per RFC 8941, parameters in the order sent.
    public var serializedParameters: String {
        var serializer = StructuredFieldValueSerializer()
        let bytes = (try? serializer.writeListFieldValue([.innerList(innerList)])) ?? []
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A new input for a signer (KeywardClient, tests): parameters in RFC 9421's customary order.
    public static func make(
        label: String = "sig1",
        components: [String],
        created: Int,
        expires: Int? = nil,
        nonce: String? = nil,
        keyID: String,
        algorithm: HTTPSignatureAlgorithm? = nil
    ) -> SignatureInput {
        var list = BareInnerList()
        for component in components {
            list.append(Item(bareItem: RFC9651BareItem.string(component), parameters: OrderedMap<String, RFC9651BareItem>()))
        }
        var parameters = OrderedMap<String, RFC9651BareItem>()
        parameters["created"] = .integer(Int64(created))
        if let expires { parameters["expires"] = .integer(Int64(expires)) }
        if let nonce { parameters["nonce"] = .string(nonce) }
        parameters["keyid"] = .string(keyID)
        if let algorithm { parameters["alg"] = .string(algorithm.rawValue) }
        return SignatureInput(
            label: label,
            components: components,
            created: created,
            expires: expires,
            nonce: nonce,
            keyID: keyID,
            algorithm: algorithm?.rawValue,
            innerList: InnerList(bareInnerList: list, parameters: parameters)
        )
    }

    /// The `Signature-Input` header value for this input alone.
    public var headerValue: String { "\(label)=\(serializedParameters)" }
}

/// RFC 9421 HTTP Message Signatures: parsing, signature base, signing and verification.
public enum HTTPMessageSignatures {
    /// Every member of a `Signature-Input` header.
    public static func parseInputs(_ header: String) throws(HTTPSignatureError) -> [SignatureInput] {
        let malformed = HTTPSignatureError(
            .malformedSignatureInput,
            "Signature-Input is not a structured-field dictionary of inner lists (RFC 9421 §4.1)."
        )
        var parser = StructuredFieldValueParser(Array(header.utf8))
        guard let dictionary = try? parser.parseDictionaryFieldValue() else { throw malformed }
        var inputs = [SignatureInput]()
        for (label, member) in dictionary {
            guard case .innerList(let list) = member else { throw malformed }
            var components = [String]()
            for item in list.bareInnerList {
                guard case .string(let name) = item.rfc9651BareItem else { throw malformed }
                guard item.rfc9651Parameters.isEmpty else {
                    throw HTTPSignatureError(
                        .unsupportedComponent,
                        "Component parameters (such as ;sf or ;key) are not supported: \(name.prefix(64))."
                    )
                }
                guard !components.contains(name) else {
                    throw HTTPSignatureError(.malformedSignatureInput, "Component \(name.prefix(64)) is listed twice.")
                }
                components.append(name)
            }
            func integer(_ key: String) throws(HTTPSignatureError) -> Int? {
                guard let value = list.rfc9651Parameters[key] else { return nil }
                guard case .integer(let number) = value else {
                    throw HTTPSignatureError(.malformedSignatureInput, "Parameter '\(key)' must be an integer.")
                }
                return Int(number)
            }
            func string(_ key: String) throws(HTTPSignatureError) -> String? {
                guard let value = list.rfc9651Parameters[key] else { return nil }
                guard case .string(let text) = value else {
                    throw HTTPSignatureError(.malformedSignatureInput, "Parameter '\(key)' must be a string.")
                }
                return text
            }
            inputs.append(
                SignatureInput(
                    label: label,
                    components: components,
                    created: try integer("created"),
                    expires: try integer("expires"),
                    nonce: try string("nonce"),
                    keyID: try string("keyid"),
                    algorithm: try string("alg"),
                    innerList: list
                )
            )
        }
        return inputs
    }

    /// The signatures of a `Signature` header, by label.
    public static func parseSignatures(_ header: String) throws(HTTPSignatureError) -> [String: [UInt8]] {
        let malformed = HTTPSignatureError(.signatureInvalid, "The Signature header is not a dictionary of byte sequences (label=:base64:).")
        var parser = StructuredFieldValueParser(Array(header.utf8))
        guard let dictionary = try? parser.parseDictionaryFieldValue() else { throw malformed }
        var signatures = [String: [UInt8]]()
        for (label, member) in dictionary {
            guard case .item(let item) = member, case .undecodedByteSequence(let base64) = item.rfc9651BareItem,
                let bytes = Data(base64Encoded: base64)
            else { throw malformed }
            signatures[label] = Array(bytes)
        }
        return signatures
    }

    /// The signature base (RFC 9421 §2.5) of `request` for `input`.
    public static func signatureBase(for request: HTTPRequestView, input: SignatureInput) throws(HTTPSignatureError) -> [UInt8] {
        var lines = [String]()
        for component in input.components {
            let value = try componentValue(component, of: request)
            lines.append("\"\(component)\": \(value)")
        }
        lines.append("\"@signature-params\": \(input.serializedParameters)")
        return Array(lines.joined(separator: "\n").utf8)
    }

    static func componentValue(_ component: String, of request: HTTPRequestView) throws(HTTPSignatureError) -> String {
        let query = request.query.map { "?" + $0 } ?? ""
        switch component {
        case "@method": return request.method
        case "@scheme": return request.scheme.lowercased()
        case "@authority": return request.authority.lowercased()
        case "@path": return request.path.isEmpty ? "/" : request.path
        case "@query": return request.query.map { "?" + $0 } ?? "?"
        case "@request-target": return request.path + query
        case "@target-uri": return request.scheme.lowercased() + "://" + request.authority.lowercased() + request.path + query
        case let derived where derived.hasPrefix("@"):
            throw HTTPSignatureError(.unsupportedComponent, "Derived component \(derived.prefix(64)) is not supported on requests.")
        default:
            let name = component.lowercased()
            guard name == component else {
                throw HTTPSignatureError(.malformedSignatureInput, "Field names in Signature-Input must be lowercase: \(component.prefix(64)).")
            }
            let values = request.fields.filter { $0.name.lowercased() == name }.map { $0.value.trimmingCharacters(in: .whitespaces) }
            guard !values.isEmpty else {
                throw HTTPSignatureError(.signatureInvalid, "The signature covers the '\(name.prefix(64))' header, which the request does not have.")
            }
            return values.joined(separator: ", ")
        }
    }

    /// Whether `signature` over `base` verifies with `key` under `algorithm`. The key type must fit
    /// the algorithm (a P-256 key never verifies an RSA signature).
    public static func verify(_ signature: [UInt8], base: [UInt8], key: VerificationKey, algorithm: HTTPSignatureAlgorithm) -> Bool {
        switch (algorithm, key) {
        case (.ed25519, .ed25519(let key)):
            return key.isValidSignature(signature, for: base)
        case (.ecdsaP256SHA256, .p256(let key)):
            guard let parsed = try? P256.Signing.ECDSASignature(rawRepresentation: signature) else { return false }
            return key.isValidSignature(parsed, for: SHA256.hash(data: base))
        case (.ecdsaP384SHA384, .p384(let key)):
            guard let parsed = try? P384.Signing.ECDSASignature(rawRepresentation: signature) else { return false }
            return key.isValidSignature(parsed, for: SHA384.hash(data: base))
        case (.rsaV15SHA256, .rsa):
            return key.isValidPKCS1v15Signature(signature, for: base, digest: .sha256)
        case (.rsaPSSSHA512, .rsa(let key)):
            return key.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: signature), for: SHA512.hash(data: base), padding: .PSS)
        default:
            return false
        }
    }

    /// The algorithm a key implies when the signer did not name one.
    public static func defaultAlgorithm(for key: VerificationKey) -> HTTPSignatureAlgorithm {
        switch key {
        case .rsa: .rsaPSSSHA512
        case .p256: .ecdsaP256SHA256
        case .p384: .ecdsaP384SHA384
        case .ed25519: .ed25519
        }
    }
}

/// A private key that signs HTTP messages (KeywardClient, the CLI, tests).
public enum HTTPSigningKey: Sendable {
    case rsa(RSASigningKey, pss: Bool)
    case p256(P256.Signing.PrivateKey)
    case p384(P384.Signing.PrivateKey)
    case ed25519(Curve25519.Signing.PrivateKey)

    /// The algorithm this key signs with.
    public var algorithm: HTTPSignatureAlgorithm {
        switch self {
        case .rsa(_, let pss): pss ? .rsaPSSSHA512 : .rsaV15SHA256
        case .p256: .ecdsaP256SHA256
        case .p384: .ecdsaP384SHA384
        case .ed25519: .ed25519
        }
    }

    /// Signs a signature base.
    public func sign(_ base: [UInt8]) throws -> [UInt8] {
        switch self {
        case .rsa(let key, let pss):
            if pss { return Array(try key.key.signature(for: SHA512.hash(data: base), padding: .PSS).rawRepresentation) }
            return try key.signPKCS1v15(base, digest: .sha256)
        case .p256(let key): return Array(try key.signature(for: SHA256.hash(data: base)).rawRepresentation)
        case .p384(let key): return Array(try key.signature(for: SHA384.hash(data: base)).rawRepresentation)
        case .ed25519(let key): return Array(try key.signature(for: base))
        }
    }
}

/// RFC 9530 `Content-Digest`: `sha-256=:…:` / `sha-512=:…:`.
public enum ContentDigest {
    /// The header value for `body` (SHA-256).
    public static func make(for body: [UInt8]) -> String {
        "sha-256=:\(Data(SHA256.hash(data: body)).base64EncodedString()):"
    }

    /// `true` when every supported digest in `header` matches `body`; `false` on any mismatch; throws
    /// when the header has no digest Keyward can check.
    public static func matches(_ header: String, body: [UInt8]) throws(HTTPSignatureError) -> Bool {
        var parser = StructuredFieldValueParser(Array(header.utf8))
        guard let dictionary = try? parser.parseDictionaryFieldValue() else {
            throw HTTPSignatureError(.digestMismatch, "Content-Digest is not a dictionary of byte sequences (RFC 9530).")
        }
        var checked = 0
        for (algorithm, member) in dictionary {
            guard case .item(let item) = member, case .undecodedByteSequence(let base64) = item.rfc9651BareItem,
                let presented = Data(base64Encoded: base64)
            else { continue }
            let actual: [UInt8]
            switch algorithm {
            case "sha-256": actual = Array(SHA256.hash(data: body))
            case "sha-512": actual = Array(SHA512.hash(data: body))
            default: continue
            }
            checked += 1
            if !ConstantTime.equals(actual, Array(presented)) { return false }
        }
        guard checked > 0 else {
            throw HTTPSignatureError(.digestMismatch, "Content-Digest has no sha-256 or sha-512 digest.")
        }
        return true
    }
}
