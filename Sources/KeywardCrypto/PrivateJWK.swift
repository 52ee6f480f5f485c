import Crypto
import CryptoExtras
import Foundation
import SwiftASN1

/// Private keys as JSON Web Keys (RFC 7517/7518, RFC 8037 for Ed25519): the form JOSE libraries load.
public enum PrivateJWK {
    /// The JWK of a private key as JSON text, members in a fixed order.
    public static func json(_ key: HTTPSigningKey, keyID: String) throws -> String {
        "{" + (try members(key, keyID: keyID)).map { "\"\($0.0)\":\"\($0.1)\"" }.joined(separator: ",") + "}"
    }

    /// The members of the JWK of a private key, with `kid`, `use: sig` and the `alg` it signs with
    /// (all string-valued, base64url without padding for the numbers).
    public static func members(_ key: HTTPSigningKey, keyID: String) throws -> [(String, String)] {
        var members: [(String, String)]
        switch key {
        case .rsa(let key, let pss):
            members = [("kty", "RSA")] + (try rsaMembers(pkcs1PEM: key.pkcs1PEM)) + [("alg", pss ? "PS512" : "RS256")]
        case .p256(let key):
            members = ecMembers(curve: "P-256", x963: Array(key.publicKey.x963Representation), d: Array(key.rawRepresentation)) + [("alg", "ES256")]
        case .p384(let key):
            members = ecMembers(curve: "P-384", x963: Array(key.publicKey.x963Representation), d: Array(key.rawRepresentation)) + [("alg", "ES384")]
        case .ed25519(let key):
            members = [
                ("kty", "OKP"), ("crv", "Ed25519"), ("x", Base64URL.encode(key.publicKey.rawRepresentation)),
                ("d", Base64URL.encode(key.rawRepresentation)), ("alg", "EdDSA"),
            ]
        }
        return members + [("use", "sig"), ("kid", keyID)]
    }

    static func ecMembers(curve: String, x963: [UInt8], d: [UInt8]) -> [(String, String)] {
        let size = (x963.count - 1) / 2
        return [
            ("kty", "EC"), ("crv", curve), ("x", Base64URL.encode(x963[1...size])), ("y", Base64URL.encode(x963[(1 + size)...])),
            ("d", Base64URL.encode(d)),
        ]
    }

    /// `n, e, d, p, q, dp, dq, qi` from PKCS#1 `RSAPrivateKey` (version, then the eight integers).
    static func rsaMembers(pkcs1PEM: String) throws -> [(String, String)] {
        let document = try PEMDocument(pemString: pkcs1PEM)
        guard case .constructed(let nodes) = try DER.parse(document.derBytes).content else {
            throw KeyImportError(.malformedKey, "The RSA key is not PKCS#1.")
        }
        let integers = try Array(nodes).map { try ArraySlice<UInt8>(derEncoded: $0) }
        guard integers.count >= 9 else { throw KeyImportError(.malformedKey, "The RSA key is not PKCS#1.") }
        let names = ["n", "e", "d", "p", "q", "dp", "dq", "qi"]
        return zip(names, integers[1...8]).map { name, value in
            (name, Base64URL.encode(value.drop { $0 == 0 }))
        }
    }
}
