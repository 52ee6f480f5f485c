import Crypto
import CryptoExtras
import Foundation

/// Why a JWK or JWE cannot be used. Stable codes: `invalid_jwk`, `private_jwk_not_accepted`,
/// `unsupported_algorithm`, `invalid_jwe`, `jwe_too_large`, `decryption_failed`.
public struct JOSEError: CodedError, Equatable {
    public let code: ErrorCode
    public let message: String

    init(_ code: ErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The same code and message, from a lower layer's refusal (a key import inside a JWK).
    init(_ other: some CodedError) { self.init(other.code, other.message) }
}

/// Elliptic curves of EC JWKs.
public enum JWKCurve: String, Sendable, CaseIterable {
    case p256 = "P-256"
    case p384 = "P-384"
    case p521 = "P-521"

    /// Bytes of one coordinate.
    public var coordinateSize: Int {
        switch self {
        case .p256: 32
        case .p384: 48
        case .p521: 66
        }
    }
}

/// An EC public key for key agreement (ECDH-ES), on one of the JWK curves.
public enum ECPublicKey: Sendable {
    case p256(P256.KeyAgreement.PublicKey)
    case p384(P384.KeyAgreement.PublicKey)
    case p521(P521.KeyAgreement.PublicKey)

    public var curve: JWKCurve {
        switch self {
        case .p256: .p256
        case .p384: .p384
        case .p521: .p521
        }
    }

    /// Uncompressed point `04 || x || y`.
    public var x963: [UInt8] {
        switch self {
        case .p256(let key): Array(key.x963Representation)
        case .p384(let key): Array(key.x963Representation)
        case .p521(let key): Array(key.x963Representation)
        }
    }

    /// Reads `04 || x || y`; swift-crypto refuses points that are not on the curve, which is what stops
    /// invalid-curve attacks on ECDH.
    public init(curve: JWKCurve, x963: [UInt8]) throws(JOSEError) {
        do {
            switch curve {
            case .p256: self = .p256(try P256.KeyAgreement.PublicKey(x963Representation: x963))
            case .p384: self = .p384(try P384.KeyAgreement.PublicKey(x963Representation: x963))
            case .p521: self = .p521(try P521.KeyAgreement.PublicKey(x963Representation: x963))
            }
        } catch {
            throw JOSEError(.invalidJWK, "The point (x, y) is not on \(curve.rawValue).")
        }
    }
}

/// An EC private key for key agreement.
public enum ECPrivateKey: Sendable {
    case p256(P256.KeyAgreement.PrivateKey)
    case p384(P384.KeyAgreement.PrivateKey)
    case p521(P521.KeyAgreement.PrivateKey)

    /// A new key on `curve`.
    ///
    /// P-384 and P-521 keys are made from a uniformly random scalar (rejection sampling: a value not
    /// below the group order, or zero, is refused by the initializer and drawn again), the same
    /// distribution as BoringSSL's own key generation, at a quarter of the cost: swift-crypto's
    /// `PrivateKey()` on these curves spends about 1.7 ms where computing the public point from a
    /// scalar takes 0.4 ms (measured with `keyward-bench p384`), and every JWE encryption needs one.
    public static func generate(_ curve: JWKCurve) -> ECPrivateKey {
        switch curve {
        case .p256:
            return .p256(P256.KeyAgreement.PrivateKey())
        case .p384:
            while true {
                if let key = try? P384.KeyAgreement.PrivateKey(rawRepresentation: randomScalar(bytes: 48, topBits: 0xff)) { return .p384(key) }
            }
        case .p521:
            // 521 bits: the top byte of the 66-byte scalar holds one bit.
            while true {
                if let key = try? P521.KeyAgreement.PrivateKey(rawRepresentation: randomScalar(bytes: 66, topBits: 0x01)) { return .p521(key) }
            }
        }
    }

    static func randomScalar(bytes: Int, topBits: UInt8) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        var scalar = (0..<bytes).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        scalar[0] &= topBits
        return scalar
    }

    public var publicKey: ECPublicKey {
        switch self {
        case .p256(let key): .p256(key.publicKey)
        case .p384(let key): .p384(key.publicKey)
        case .p521(let key): .p521(key.publicKey)
        }
    }

    /// The private scalar `d`, big-endian, coordinate-sized.
    public var scalar: [UInt8] {
        switch self {
        case .p256(let key): Array(key.rawRepresentation)
        case .p384(let key): Array(key.rawRepresentation)
        case .p521(let key): Array(key.rawRepresentation)
        }
    }

    /// The ECDH shared secret `Z` with `peer` (same curve).
    func sharedSecret(with peer: ECPublicKey) throws(JOSEError) -> [UInt8] {
        do {
            let secret: SharedSecret
            switch (self, peer) {
            case (.p256(let own), .p256(let other)): secret = try own.sharedSecretFromKeyAgreement(with: other)
            case (.p384(let own), .p384(let other)): secret = try own.sharedSecretFromKeyAgreement(with: other)
            case (.p521(let own), .p521(let other)): secret = try own.sharedSecretFromKeyAgreement(with: other)
            default: throw JOSEError(.invalidJWE, "The ephemeral key is on another curve than the recipient's key.")
            }
            return secret.withUnsafeBytes { Array($0) }
        } catch let error as JOSEError {
            throw error
        } catch {
            throw JOSEError(.decryptionFailed, "Key agreement failed.")
        }
    }

    init(curve: JWKCurve, scalar: [UInt8]) throws(JOSEError) {
        do {
            switch curve {
            case .p256: self = .p256(try P256.KeyAgreement.PrivateKey(rawRepresentation: scalar))
            case .p384: self = .p384(try P384.KeyAgreement.PrivateKey(rawRepresentation: scalar))
            case .p521: self = .p521(try P521.KeyAgreement.PrivateKey(rawRepresentation: scalar))
            }
        } catch {
            throw JOSEError(.invalidJWK, "The private scalar d is not a valid \(curve.rawValue) key.")
        }
    }
}

/// A JSON Web Key (RFC 7517/7518): EC keys for ECDH-ES (public or private) and RSA public keys.
public struct JWK: Sendable {
    /// The key material.
    public enum Material: Sendable {
        case ecPublic(ECPublicKey)
        case ecPrivate(ECPrivateKey)
        /// RSA public key: modulus and exponent, big-endian without leading zeros.
        case rsaPublic(n: [UInt8], e: [UInt8])
    }

    public let material: Material
    public let kid: String?
    public let use: String?
    public let alg: String?

    public init(material: Material, kid: String? = nil, use: String? = nil, alg: String? = nil) {
        self.material = material
        self.kid = kid
        self.use = use
        self.alg = alg
    }

    /// The largest JWK text accepted.
    public static let maximumBytes = 16 * 1024
    static let allowedMembers: Set<String> = ["kty", "crv", "x", "y", "d", "n", "e", "kid", "use", "alg", "key_ops", "ext"]

    /// Reads a JWK. Private members (`d`) are refused unless `allowPrivate`: a public key is what a
    /// merchant registers, and a private key sent where a public one belongs should not be kept.
    public static func parse(_ text: String, allowPrivate: Bool = false) throws(JOSEError) -> JWK {
        guard text.utf8.count <= maximumBytes else { throw JOSEError(.invalidJWK, "A JWK is at most \(maximumBytes) bytes.") }
        let document: OrderedJSON
        do { document = try OrderedJSON.parse(Array(text.utf8)) } catch { throw JOSEError(.invalidJWK, "The JWK is not JSON: \(error.reason)") }
        return try parse(document, allowPrivate: allowPrivate)
    }

    /// Reads a JWK from parsed JSON (e.g. a header's `epk`).
    public static func parse(_ document: OrderedJSON, allowPrivate: Bool = false) throws(JOSEError) -> JWK {
        guard case .object(let members) = document else { throw JOSEError(.invalidJWK, "A JWK is a JSON object.") }
        var seen = Set<String>()
        for member in members {
            guard seen.insert(member.name).inserted else { throw JOSEError(.invalidJWK, "Member '\(member.name.prefix(32))' appears twice.") }
            guard allowedMembers.contains(member.name) else {
                throw JOSEError(
                    .invalidJWK,
                    "Unexpected member '\(member.name.prefix(32))'; Keyward reads kty, crv, x, y, d (EC), n, e (RSA), kid, use, alg."
                )
            }
        }
        func string(_ name: String) throws(JOSEError) -> String? {
            guard let value = document[member: name] else { return nil }
            guard let text = value.stringValue else { throw JOSEError(.invalidJWK, "Member '\(name)' must be a string.") }
            return text
        }
        func bytes(_ name: String) throws(JOSEError) -> [UInt8]? {
            guard let text = try string(name) else { return nil }
            guard let data = Base64URL.decode(text), !data.isEmpty else { throw JOSEError(.invalidJWK, "Member '\(name)' is not base64url.") }
            return Array(data)
        }
        let kid = try string("kid")
        let use = try string("use")
        let alg = try string("alg")
        if let kid, kid.utf8.count > 256 { throw JOSEError(.invalidJWK, "'kid' is at most 256 characters.") }
        switch try string("kty") {
        case "EC":
            guard let crvName = try string("crv") else { throw JOSEError(.invalidJWK, "An EC JWK needs 'crv'.") }
            guard let curve = JWKCurve(rawValue: crvName) else {
                throw JOSEError(.unsupportedAlgorithm, "Curve '\(crvName.prefix(16))' is not supported; use P-256, P-384 or P-521.")
            }
            guard let x = try bytes("x"), let y = try bytes("y") else { throw JOSEError(.invalidJWK, "An EC JWK needs 'x' and 'y'.") }
            guard x.count == curve.coordinateSize, y.count == curve.coordinateSize else {
                throw JOSEError(.invalidJWK, "'x' and 'y' of a \(curve.rawValue) key are \(curve.coordinateSize) bytes each.")
            }
            guard document[member: "n"] == nil, document[member: "e"] == nil else { throw JOSEError(.invalidJWK, "'n' and 'e' belong to RSA keys.") }
            let publicKey = try ECPublicKey(curve: curve, x963: [0x04] + x + y)
            if let d = try bytes("d") {
                guard allowPrivate else {
                    throw JOSEError(
                        .privateJWKNotAccepted,
                        "This JWK holds a private key ('d'). Send the public key only; keep the private key to yourself."
                    )
                }
                guard d.count == curve.coordinateSize else {
                    throw JOSEError(.invalidJWK, "'d' of a \(curve.rawValue) key is \(curve.coordinateSize) bytes.")
                }
                let privateKey = try ECPrivateKey(curve: curve, scalar: d)
                guard privateKey.publicKey.x963 == publicKey.x963 else {
                    throw JOSEError(.invalidJWK, "'d' does not belong to the public point (x, y).")
                }
                return JWK(material: .ecPrivate(privateKey), kid: kid, use: use, alg: alg)
            }
            return JWK(material: .ecPublic(publicKey), kid: kid, use: use, alg: alg)
        case "RSA":
            guard document[member: "d"] == nil else {
                throw JOSEError(
                    allowPrivate ? .unsupportedAlgorithm : .privateJWKNotAccepted,
                    "RSA private JWKs are not read here; send the public key (n, e)."
                )
            }
            guard let n = try bytes("n"), let e = try bytes("e") else { throw JOSEError(.invalidJWK, "An RSA JWK needs 'n' and 'e'.") }
            let modulus = Array(n.drop { $0 == 0 })
            guard modulus.count * 8 >= 2048 else { throw JOSEError(.invalidJWK, "RSA keys must have at least 2048 bits.") }
            // RFC 8017 §3.1: the exponent is odd and at least 3. e = 0 left an empty exponent (and a JWK
            // whose own JSON does not read back); e = 1 makes every "signature" its own message.
            let exponent = Array(e.drop { $0 == 0 })
            guard let last = exponent.last, last & 1 == 1, exponent != [1] else {
                throw JOSEError(.invalidJWK, "'e' is not an RSA public exponent (an odd number of at least 3, usually AQAB).")
            }
            return JWK(material: .rsaPublic(n: modulus, e: exponent), kid: kid, use: use, alg: alg)
        case let other:
            throw JOSEError(.unsupportedAlgorithm, "Key type '\((other ?? "(none)").prefix(16))' is not supported; use EC (or RSA public keys).")
        }
    }

    /// The public half.
    public var publicJWK: JWK {
        switch material {
        case .ecPrivate(let key): JWK(material: .ecPublic(key.publicKey), kid: kid, use: use, alg: alg)
        default: self
        }
    }

    /// Whether this JWK holds a private key.
    public var isPrivate: Bool {
        if case .ecPrivate = material { return true }
        return false
    }

    /// The required members only, in lexicographic order: the RFC 7638 thumbprint input.
    var requiredMembers: [(String, String)] {
        switch material {
        case .ecPublic(let key): Self.ecMembers(key)
        case .ecPrivate(let key): Self.ecMembers(key.publicKey)
        case .rsaPublic(let n, let e): [("e", Base64URL.encode(e)), ("kty", "RSA"), ("n", Base64URL.encode(n))]
        }
    }

    static func ecMembers(_ key: ECPublicKey) -> [(String, String)] {
        let point = key.x963
        let size = key.curve.coordinateSize
        return [("crv", key.curve.rawValue), ("kty", "EC"), ("x", Base64URL.encode(point[1...size])), ("y", Base64URL.encode(point[(1 + size)...]))]
    }

    /// RFC 7638 thumbprint: base64url(SHA-256 of the required members, sorted, no whitespace).
    public var thumbprint: String {
        Base64URL.encode(Array(SHA256.hash(data: Array(Self.serialize(requiredMembers).utf8))))
    }

    /// The JWK as JSON: required members, then `d` when `includingPrivate`, then `kid`, `use`, `alg`.
    public func json(includingPrivate: Bool = false) -> String {
        var members = requiredMembers
        if includingPrivate, case .ecPrivate(let key) = material { members.append(("d", Base64URL.encode(key.scalar))) }
        for (name, value) in [("kid", kid), ("use", use), ("alg", alg)] { if let value { members.append((name, value)) } }
        return Self.serialize(members)
    }

    static func serialize(_ members: [(String, String)]) -> String {
        "{" + members.map { OrderedJSON.quote($0.0) + ":" + OrderedJSON.quote($0.1) }.joined(separator: ",") + "}"
    }
}
