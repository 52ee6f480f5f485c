import Foundation

/// The authenticator data of a WebAuthn registration or assertion (W3C WebAuthn §6.1): the SHA-256 of
/// the RP ID, the flags, the signature counter, and on registration the attested credential data
/// (AAGUID, credential id, COSE public key). Extensions, when flagged, must be one CBOR map; nothing may follow.
public struct AuthenticatorData: Sendable {
    public let rpIDHash: [UInt8]
    public let flags: UInt8
    public let signCount: UInt32
    public let attested: AttestedCredential?
    /// The raw bytes (what signatures cover).
    public let bytes: [UInt8]

    public struct AttestedCredential: Sendable {
        public let aaguid: [UInt8]
        public let credentialID: [UInt8]
        /// The COSE_Key exactly as sent (stored as is; parsed again to verify).
        public let publicKeyCBOR: [UInt8]
        public let publicKey: COSEKey
    }

    /// User present (UP).
    public var userPresent: Bool { flags & 0x01 != 0 }
    /// User verified (UV): PIN or biometrics on the authenticator.
    public var userVerified: Bool { flags & 0x04 != 0 }
    static let attestedFlag: UInt8 = 0x40
    static let extensionsFlag: UInt8 = 0x80

    public init(_ bytes: [UInt8]) throws(CodedInputError) {
        guard bytes.count >= 37 else { throw CodedInputError(.webauthnMalformed, "The authenticator data is shorter than 37 bytes.") }
        self.bytes = bytes
        rpIDHash = Array(bytes[0..<32])
        flags = bytes[32]
        signCount = bytes[33..<37].reduce(0) { $0 << 8 | UInt32($1) }
        var offset = 37
        if flags & Self.attestedFlag != 0 {
            guard bytes.count >= offset + 18 else { throw CodedInputError(.webauthnMalformed, "The attested credential data is cut short.") }
            let aaguid = Array(bytes[offset..<offset + 16])
            let length = Int(bytes[offset + 16]) << 8 | Int(bytes[offset + 17])
            offset += 18
            guard length >= 16, length <= 1023, bytes.count >= offset + length else {
                throw CodedInputError(.webauthnMalformed, "The credential id is missing, too long or cut short.")
            }
            let credentialID = Array(bytes[offset..<offset + length])
            offset += length
            var reader = CBORReader(bytes, offset: offset)
            let key = try reader.read()
            let keyBytes = Array(bytes[offset..<reader.offset])
            offset = reader.offset
            attested = AttestedCredential(aaguid: aaguid, credentialID: credentialID, publicKeyCBOR: keyBytes, publicKey: try COSEKey(key))
        } else {
            attested = nil
        }
        if flags & Self.extensionsFlag != 0 {
            var reader = CBORReader(bytes, offset: offset)
            guard case .map = try reader.read() else { throw CodedInputError(.webauthnMalformed, "The extensions are not a CBOR map.") }
            offset = reader.offset
        }
        guard offset == bytes.count else { throw CodedInputError(.webauthnMalformed, "Bytes follow the authenticator data.") }
    }
}
