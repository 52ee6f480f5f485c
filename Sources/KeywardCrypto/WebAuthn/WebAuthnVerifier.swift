import Crypto
import CryptoExtras
import Foundation
import SwiftASN1
import X509

/// WebAuthn (W3C Web Authentication Level 2/3) checks of a registration and of an assertion, pure: the
/// caller brings the one-time challenge it issued, the relying party (origin and RP ID from its own
/// configuration, never from a request header) and, for an assertion, the stored key and counter.
/// Every refusal is a `CodedInputError` whose code names the check that failed.
public enum WebAuthn {
    /// Who the credentials are for: `origin` is `https://host[:port]`, `id` its host (the RP ID).
    public struct RelyingParty: Sendable, Equatable {
        public let id: String
        public let origin: String

        public init(id: String, origin: String) {
            self.id = id
            self.origin = origin
        }

        /// The relying party of a public base URL such as `https://keys.example.com` (nil when it has no
        /// host), its origin serialized as browsers do: lowercase host, no default port 443, no slash.
        public init?(publicBaseURL: String) {
            guard let url = URL(string: publicBaseURL), url.scheme?.lowercased() == "https", let host = url.host?.lowercased(), !host.isEmpty else {
                return nil
            }
            let port = url.port.flatMap { $0 == 443 ? nil : ":\($0)" } ?? ""
            let name = host.contains(":") ? "[\(host)]" : host
            self.init(id: host, origin: "https://\(name)\(port)")
        }
    }

    /// A verified registration: what to store.
    public struct Registration: Sendable {
        public let credentialID: [UInt8]
        public let publicKeyCBOR: [UInt8]
        public let algorithm: COSEKey.Algorithm
        public let signCount: UInt32
        public let userVerified: Bool
        /// `none` or `packed`.
        public let attestationFormat: String
        public let aaguid: [UInt8]
    }

    /// A verified assertion: the counter to store, and whether the user was verified.
    public struct Assertion: Sendable {
        public let signCount: UInt32
        public let userVerified: Bool
    }

    /// The challenge a client data JSON names (base64url-decoded), so the caller can find and consume
    /// the one it issued before verifying.
    public static func challenge(inClientData clientDataJSON: [UInt8]) throws(CodedInputError) -> [UInt8] {
        let object = try clientData(clientDataJSON)
        guard let text = object["challenge"] as? String, let bytes = Base64URL.decode(text), !bytes.isEmpty else {
            throw CodedInputError(.webauthnMalformed, "The client data names no challenge.")
        }
        return Array(bytes)
    }

    /// Verifies a registration (`navigator.credentials.create`): client data, RP ID hash, flags,
    /// attested credential data and the attestation statement (`none`, or `packed` self or x5c).
    public static func verifyRegistration(
        clientDataJSON: [UInt8],
        attestationObject: [UInt8],
        challenge: [UInt8],
        relyingParty: RelyingParty
    ) throws(CodedInputError) -> Registration {
        try checkClientData(clientDataJSON, type: "webauthn.create", challenge: challenge, relyingParty: relyingParty)
        let object = try CBORReader.decode(attestationObject)
        guard let format = object[text: "fmt"]?.textString, let statement = object[text: "attStmt"], case .map = statement,
            let authBytes = object[text: "authData"]?.byteString
        else {
            throw CodedInputError(.webauthnMalformed, "The attestation object lacks fmt, attStmt or authData.")
        }
        let data = try AuthenticatorData(authBytes)
        try checkRelyingParty(data, relyingParty)
        guard let attested = data.attested else { throw CodedInputError(.webauthnMalformed, "The registration carries no credential.") }
        let signed = authBytes + Array(SHA256.hash(data: clientDataJSON))
        switch format {
        case "none":
            guard statement == .map([]) else { throw CodedInputError(.webauthnBadAttestation, "A `none` attestation must carry an empty statement.") }
        case "packed":
            try verifyPacked(statement, signed: signed, credentialKey: attested.publicKey, aaguid: attested.aaguid)
        default:
            throw CodedInputError(
                .webauthnUnsupportedAttestation,
                "Attestation format '\(format.prefix(32))' is not accepted; Keyward accepts none and packed."
            )
        }
        return Registration(
            credentialID: attested.credentialID,
            publicKeyCBOR: attested.publicKeyCBOR,
            algorithm: attested.publicKey.algorithm,
            signCount: data.signCount,
            userVerified: data.userVerified,
            attestationFormat: format,
            aaguid: attested.aaguid
        )
    }

    /// Verifies an assertion (`navigator.credentials.get`) by a stored credential: client data, RP ID
    /// hash, user presence, the signature, then the counter (a valid signature whose counter does not
    /// advance is `webauthn_sign_count`: possibly a cloned authenticator).
    public static func verifyAssertion(
        clientDataJSON: [UInt8],
        authenticatorData: [UInt8],
        signature: [UInt8],
        challenge: [UInt8],
        relyingParty: RelyingParty,
        publicKeyCBOR: [UInt8],
        storedSignCount: UInt32
    ) throws(CodedInputError) -> Assertion {
        try checkClientData(clientDataJSON, type: "webauthn.get", challenge: challenge, relyingParty: relyingParty)
        let data = try AuthenticatorData(authenticatorData)
        try checkRelyingParty(data, relyingParty)
        let key = try COSEKey(cbor: publicKeyCBOR)
        guard key.isValidSignature(signature, for: authenticatorData + Array(SHA256.hash(data: clientDataJSON))) else {
            throw CodedInputError(.webauthnBadSignature, "The passkey's signature does not verify.")
        }
        guard counterAdvances(stored: storedSignCount, new: data.signCount) else {
            throw CodedInputError(.webauthnSignCount, "The passkey's signature counter did not advance: the authenticator may have been cloned.")
        }
        return Assertion(signCount: data.signCount, userVerified: data.userVerified)
    }

    /// Authenticators that keep no counter send 0 every time; once either side is non-zero the new
    /// count must be greater than the stored one.
    public static func counterAdvances(stored: UInt32, new: UInt32) -> Bool {
        (stored == 0 && new == 0) || new > stored
    }

    static func clientData(_ bytes: [UInt8]) throws(CodedInputError) -> [String: Any] {
        guard bytes.count <= 4096, let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
            throw CodedInputError(.webauthnMalformed, "The client data is not a JSON object.")
        }
        return object
    }

    static func checkClientData(_ bytes: [UInt8], type: String, challenge: [UInt8], relyingParty: RelyingParty) throws(CodedInputError) {
        let object = try clientData(bytes)
        guard object["type"] as? String == type else { throw CodedInputError(.webauthnWrongType, "The client data is not of type \(type).") }
        guard let sent = try? Self.challenge(inClientData: bytes), ConstantTime.equals(sent, challenge) else {
            throw CodedInputError(.webauthnChallengeMismatch, "The client data answers another challenge.")
        }
        guard object["origin"] as? String == relyingParty.origin else {
            throw CodedInputError(.webauthnOriginMismatch, "The passkey was used from another origin than \(relyingParty.origin).")
        }
        // An embedded frame of another site may not act for this one.
        if let crossOrigin = object["crossOrigin"] as? Bool, crossOrigin {
            throw CodedInputError(.webauthnOriginMismatch, "The passkey was used from a frame of another site.")
        }
    }

    static func checkRelyingParty(_ data: AuthenticatorData, _ relyingParty: RelyingParty) throws(CodedInputError) {
        guard ConstantTime.equals(data.rpIDHash, Array(SHA256.hash(data: Array(relyingParty.id.utf8)))) else {
            throw CodedInputError(.webauthnRPMismatch, "The passkey was made for another site than \(relyingParty.id).")
        }
        guard data.userPresent else { throw CodedInputError(.webauthnUserNotPresent, "The authenticator did not confirm a person was present.") }
    }

    /// `packed` (WebAuthn §8.2): with `x5c`, the first certificate's key signs (no trust store: Keyward
    /// records the format, it does not rank authenticators); without, the credential key itself (self attestation).
    static func verifyPacked(_ statement: CBORValue, signed: [UInt8], credentialKey: COSEKey, aaguid: [UInt8]) throws(CodedInputError) {
        guard let alg = statement[text: "alg"]?.int, let signature = statement[text: "sig"]?.byteString else {
            throw CodedInputError(.webauthnBadAttestation, "The packed attestation lacks alg or sig.")
        }
        let bad = CodedInputError(.webauthnBadAttestation, "The attestation signature does not verify.")
        guard let chain = statement[text: "x5c"] else {
            guard alg == credentialKey.algorithm.rawValue else {
                throw CodedInputError(.webauthnBadAttestation, "Self attestation must use the credential's algorithm.")
            }
            guard credentialKey.isValidSignature(signature, for: signed) else { throw bad }
            return
        }
        guard case .array(let certificates) = chain, let first = certificates.first?.byteString,
            let certificate = try? Certificate(derEncoded: first)
        else {
            throw CodedInputError(.webauthnBadAttestation, "The attestation certificate cannot be read.")
        }
        try checkAttestationCertificate(certificate, aaguid: aaguid)
        let key: COSEKey
        if let p256 = P256.Signing.PublicKey(certificate.publicKey), alg == COSEKey.Algorithm.es256.rawValue {
            key = COSEKey(.p256(p256))
        } else if let rsa = _RSA.Signing.PublicKey(certificate.publicKey), alg == COSEKey.Algorithm.rs256.rawValue {
            key = COSEKey(.rsa(rsa))
        } else {
            throw COSEKey.unsupported("attestation algorithm \(alg) with this certificate's key")
        }
        guard key.isValidSignature(signature, for: signed) else { throw bad }
    }

    /// The attestation certificate requirements of WebAuthn §8.2.1 that need no trust store: X.509 v3,
    /// subject OU "Authenticator Attestation", not a CA, and when it names an AAGUID
    /// (id-fido-gen-ce-aaguid), the one in the authenticator data.
    static func checkAttestationCertificate(_ certificate: Certificate, aaguid: [UInt8]) throws(CodedInputError) {
        func refuse(_ why: String) -> CodedInputError { CodedInputError(.webauthnBadAttestation, "The attestation certificate \(why).") }
        guard certificate.version == .v3 else { throw refuse("is not X.509 version 3") }
        let units = certificate.subject.flatMap { $0 }.filter { $0.type == .RDNAttributeType.organizationalUnitName }.map { "\($0.value)" }
        guard units.contains("Authenticator Attestation") else { throw refuse("does not name the organizational unit \"Authenticator Attestation\"") }
        if let constraints = try? certificate.extensions.basicConstraints, case .isCertificateAuthority = constraints {
            throw refuse("is a CA certificate")
        }
        if let named = certificate.extensions[oid: [1, 3, 6, 1, 4, 1, 45724, 1, 1, 4]] {
            // An OCTET STRING of the 16 AAGUID bytes.
            guard Array(named.value) == [0x04, 0x10] + aaguid else { throw refuse("names another AAGUID than the authenticator data") }
        }
    }
}
