import Crypto
import Foundation
import KeywardCrypto

/// The ACME account key (ES256, P-256) and the JWS (RFC 7515 flattened JSON) every ACME POST carries.
public struct ACMEAccountKey: Sendable {
    let key: P256.Signing.PrivateKey

    /// A new account key.
    public init() { key = P256.Signing.PrivateKey() }

    /// An account key from its PKCS#8 PEM (as kept sealed in the store).
    public init(pem: String) throws { key = try P256.Signing.PrivateKey(pemRepresentation: pem) }

    /// PKCS#8 PEM, for sealing at rest.
    public var pem: String { key.pemRepresentation }

    /// The public JWK members in RFC 7638 order (also the thumbprint input).
    var publicJWKJSON: String {
        let point = Array(key.publicKey.x963Representation)
        return #"{"crv":"P-256","kty":"EC","x":"\#(Base64URL.encode(point[1...32]))","y":"\#(Base64URL.encode(point[33...]))"}"#
    }

    /// RFC 7638 thumbprint of the public key: the second half of every key authorization.
    public var thumbprint: String { Base64URL.encode(Array(SHA256.hash(data: Array(publicJWKJSON.utf8)))) }

    /// `token.thumbprint` (RFC 8555 §8.1).
    public func keyAuthorization(token: String) -> String { token + "." + thumbprint }

    /// A JWS over `payload` (nil = POST-as-GET's empty payload) for `url`, identified by the account URL
    /// (`kid`) once there is one, by the public JWK before.
    func sign(url: String, nonce: String, accountURL: String?, payload: Data?) throws -> Data {
        var header: [String: Any] = ["alg": "ES256", "nonce": nonce, "url": url]
        if let accountURL { header["kid"] = accountURL } else { header["jwk"] = try JSONSerialization.jsonObject(with: Data(publicJWKJSON.utf8)) }
        let protected = Base64URL.encode(try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]))
        let body = payload.map { Base64URL.encode($0) } ?? ""
        let signature = try key.signature(for: Data((protected + "." + body).utf8))
        return try Self.flattened(protected: protected, payload: body, signature: Base64URL.encode(signature.rawRepresentation))
    }

    /// The external account binding (RFC 8555 §7.3.4): the account's public JWK, signed with the CA's HMAC key.
    func externalAccountBinding(keyID: String, hmacKey: [UInt8], newAccountURL: String) throws -> [String: Any] {
        let header = try JSONSerialization.data(withJSONObject: ["alg": "HS256", "kid": keyID, "url": newAccountURL], options: [.sortedKeys])
        let protected = Base64URL.encode(header)
        let payload = Base64URL.encode(Data(publicJWKJSON.utf8))
        let mac = HMAC<SHA256>.authenticationCode(for: Data((protected + "." + payload).utf8), using: SymmetricKey(data: hmacKey))
        return ["protected": protected, "payload": payload, "signature": Base64URL.encode(Array(mac))]
    }

    static func flattened(protected: String, payload: String, signature: String) throws -> Data {
        try JSONSerialization.data(withJSONObject: ["protected": protected, "payload": payload, "signature": signature], options: [.sortedKeys])
    }
}
