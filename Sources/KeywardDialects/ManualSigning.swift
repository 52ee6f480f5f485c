import Foundation
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
    public static func verify(
        _ dialect: Dialect,
        input: [UInt8],
        publicKey: VerificationKey,
        signature: String?,
        digest: SignatureDigest
    ) throws -> SignatureCheck {
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

extension ManualSigning {
    /// The headers an RFC 9421 client sends for `method url` with `body`: `Content-Digest` (when there is
    /// a body), `Signature-Input` and `Signature`, covering `@method`, `@target-uri` (and `content-digest`).
    public static func signRFC9421(
        method: String,
        url: String,
        body: [UInt8],
        key: HTTPSigningKey,
        keyID: String,
        created: Int,
        nonce: String
    ) throws -> [(name: String, value: String)] {
        guard let parts = URLParts(url) else { throw ManualSigningError("--url must be an absolute http(s) URL") }
        var headers: [(name: String, value: String)] = []
        var components = ["@method", "@target-uri"]
        if !body.isEmpty {
            headers.append(("Content-Digest", ContentDigest.make(for: body)))
            components.append("content-digest")
        }
        let request = HTTPRequestView(
            method: method.uppercased(),
            scheme: parts.scheme,
            authority: parts.authority,
            path: parts.path,
            query: parts.query,
            fields: headers
        )
        let input = SignatureInput.make(components: components, created: created, nonce: nonce, keyID: keyID, algorithm: key.algorithm)
        let signature = try key.sign(try HTTPMessageSignatures.signatureBase(for: request, input: input))
        headers.append(("Signature-Input", input.headerValue))
        headers.append(("Signature", "\(input.label)=:\(Data(signature).base64EncodedString()):"))
        return headers
    }
}

extension ManualSigning {
    /// Checks an RFC 9421 signed request as the gateway does (same policy, nonce required), except that
    /// the key is `publicKey` whatever the `keyid`, the nonce is not looked up, and with `ignoreTime`
    /// an old request (a support ticket's) is judged on its signature alone.
    public static func verifyRFC9421(
        method: String,
        url: String,
        body: [UInt8],
        headers: [(name: String, value: String)],
        publicKey: VerificationKey,
        now: Int,
        ignoreTime: Bool = false
    ) throws -> SignatureCheck {
        guard let parts = URLParts(url) else { throw ManualSigningError("--url must be an absolute http(s) URL") }
        let request = HTTPRequestView(
            method: method.uppercased(),
            scheme: parts.scheme,
            authority: parts.authority,
            path: parts.path,
            query: parts.query,
            fields: headers
        )
        var policy = NativeSignature.Policy()
        if ignoreTime { policy.window = Int(Int32.max) }
        switch NativeSignature.verify(request: request, body: body, now: now, policy: policy, resolveKey: { _ in publicKey }) {
        case .success: return .valid
        case .failure(let refusal): return .invalid(code: refusal.code, reason: refusal.reason)
        }
    }
}

/// The parts of an absolute URL that RFC 9421 derived components use.
struct URLParts {
    let scheme: String, authority: String, path: String, query: String?

    init?(_ text: String) {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
            scheme == "https" || scheme == "http", let host = components.percentEncodedHost, !host.isEmpty
        else { return nil }
        let defaultPort = scheme == "https" ? 443 : 80
        self.scheme = scheme
        self.authority = host.lowercased() + (components.port.map { $0 == defaultPort ? "" : ":\($0)" } ?? "")
        self.path = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
        self.query = components.percentEncodedQuery
    }
}

/// A misuse of the manual signing tools.
public struct ManualSigningError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}
