import KeywardCrypto

/// What `keyward sign` and `keyward verify` do, without any I/O: support staff and merchants produce
/// or check a signature by hand, exactly as the gateway computes it.
public enum ManualSigning {
    /// Dialects the tools speak.
    public enum Dialect: String, Sendable, CaseIterable {
        /// myPOS IPC: the input is the form body (`k=v&k=v`, URL-encoded, in the order sent).
        case mypos
        /// AliKassa: the input is the raw request body, byte for byte.
        case alikassa
    }

    /// The signature value for `input` (myPOS `Signature`, AliKassa `Sign`).
    public static func sign(_ dialect: Dialect, input: [UInt8], key: RSASigningKey, digest: SignatureDigest) throws -> String {
        switch dialect {
        case .mypos:
            try requireSHA256(digest)
            return try MyPOSIPC.sign(try form(input), with: key)
        case .alikassa:
            return try AliKassa.sign(body: input, with: key, digest: digest)
        }
    }

    /// Checks `input` (for myPOS the form with its `Signature`; for AliKassa the body and `signature`).
    public static func verify(_ dialect: Dialect, input: [UInt8], publicKey: VerificationKey, signature: String?, digest: SignatureDigest) throws -> SignatureCheck {
        switch dialect {
        case .mypos:
            try requireSHA256(digest)
            return MyPOSIPC.verify(try form(input), with: publicKey)
        case .alikassa:
            return AliKassa.verify(body: input, signature: signature, with: publicKey, digest: digest)
        }
    }

    /// A form read from a terminal or file: a trailing line break is not part of it.
    static func form(_ input: [UInt8]) throws -> [(name: String, value: String)] {
        var bytes = input[...]
        while let last = bytes.last, last == 0x0a || last == 0x0d { bytes = bytes.dropLast() }
        return try FormEncoding.decode(bytes)
    }

    static func requireSHA256(_ digest: SignatureDigest) throws {
        guard digest == .sha256 else { throw ManualSigningError("myPOS signatures always use SHA-256; drop --hash") }
    }
}

/// A misuse of the manual signing tools.
public struct ManualSigningError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}
