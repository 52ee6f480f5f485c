import KeywardCrypto

/// Keyward's native signed-request scheme: RFC 9421 HTTP Message Signatures with `keyid` naming a
/// registered key. Pure policy; the caller resolves keys and remembers nonces.
public enum NativeSignature {
    /// What a signature must satisfy.
    public struct Policy: Sendable {
        /// Seconds a signature stays acceptable after its `created` (and how far ahead of our clock it may be).
        public var window: Int = 300
        /// Algorithms accepted.
        public var allowedAlgorithms: Set<HTTPSignatureAlgorithm> = Set(HTTPSignatureAlgorithm.allCases)
        /// Components every signature must cover.
        public var requiredComponents: [String] = ["@method", "@target-uri"]
        /// Whether a `nonce` is required (replay protection).
        public var requireNonce: Bool = true

        public init() {}
    }

    /// A signature that verified: who signed, and the nonce the caller must now mark as used.
    public struct Verified: Sendable, Equatable {
        public let keyID: String
        public let label: String
        public let algorithm: HTTPSignatureAlgorithm
        public let created: Int
        public let nonce: String?
    }

    /// A refusal, with the gateway's problem code.
    public struct Refusal: Error, Sendable, Equatable {
        public let code: ErrorCode
        public let reason: String
    }

    /// `Signature-Input` and `Signature` of a request, parsed once.
    public struct Headers: Sendable {
        /// The first signature's parameters: the one Keyward checks.
        public let input: SignatureInput
        public let signature: [UInt8]
    }

    /// Parses the signature headers of `request`, or says why they cannot be used.
    public static func parse(_ request: HTTPRequestView) -> Result<Headers, Refusal> {
        let inputHeader = field("signature-input", in: request)
        let signatureHeader = field("signature", in: request)
        guard let inputHeader, let signatureHeader else {
            return .failure(Refusal(code: .signatureMissing, reason: "Send Signature-Input and Signature headers (RFC 9421)."))
        }
        let inputs: [SignatureInput]
        let signatures: [String: [UInt8]]
        do {
            inputs = try HTTPMessageSignatures.parseInputs(inputHeader)
            signatures = try HTTPMessageSignatures.parseSignatures(signatureHeader)
        } catch {
            return .failure(Refusal(code: .signatureInvalid, reason: error.message))
        }
        guard let input = inputs.first else {
            return .failure(Refusal(code: .signatureMissing, reason: "Signature-Input names no signature."))
        }
        guard let signature = signatures[input.label] else {
            return .failure(Refusal(code: .signatureMissing, reason: "Signature has no value labelled '\(input.label.prefix(64))'."))
        }
        return .success(Headers(input: input, signature: signature))
    }

    /// Checks the first signature of `request` that names a key `resolveKey` knows.
    ///
    /// - Parameters:
    ///   - body: the raw body; a non-empty body must be covered by a matching `content-digest`.
    ///   - now: seconds since 1970.
    public static func verify(
        request: HTTPRequestView,
        body: [UInt8],
        now: Int,
        policy: Policy = Policy(),
        resolveKey: (String) -> VerificationKey?
    ) -> Result<Verified, Refusal> {
        switch parse(request) {
        case .failure(let refusal): return .failure(refusal)
        case .success(let headers): return verify(request: request, headers: headers, body: body, now: now, policy: policy, resolveKey: resolveKey)
        }
    }

    /// Everything but the body: key, algorithm, times, covered components and the signature itself.
    /// The gateway calls this before reading any body, so a request with a bogus signature is refused
    /// without buffering it; `expectsBody` (a declared body) demands a covered `content-digest`, which
    /// `checkBody` then compares with the body read.
    public static func verifyHeaders(
        request: HTTPRequestView,
        headers: Headers,
        expectsBody: Bool,
        now: Int,
        policy: Policy = Policy(),
        resolveKey: (String) -> VerificationKey?
    ) -> Result<Verified, Refusal> {
        let input = headers.input
        let signature = headers.signature
        guard let keyID = input.keyID else {
            return .failure(Refusal(code: .signatureInvalid, reason: "The signature parameters have no keyid."))
        }
        guard let key = resolveKey(keyID) else {
            return .failure(Refusal(code: .unknownKeyIndex, reason: "No registered key has id '\(keyID.prefix(64))' for this merchant and mode."))
        }
        let algorithm: HTTPSignatureAlgorithm
        if let named = input.algorithm {
            guard let parsed = HTTPSignatureAlgorithm(rawValue: named), policy.allowedAlgorithms.contains(parsed) else {
                return .failure(
                    Refusal(
                        code: .algorithmNotAllowed,
                        reason:
                            "Algorithm '\(named.prefix(40))' is not accepted; use one of \(policy.allowedAlgorithms.map(\.rawValue).sorted().joined(separator: ", "))."
                    )
                )
            }
            algorithm = parsed
        } else {
            algorithm = HTTPMessageSignatures.defaultAlgorithm(for: key)
            guard policy.allowedAlgorithms.contains(algorithm) else {
                return .failure(Refusal(code: .algorithmNotAllowed, reason: "Algorithm '\(algorithm.rawValue)' is not accepted."))
            }
        }
        guard
            HTTPMessageSignatures.defaultAlgorithm(for: key) == algorithm
                || (algorithm == .rsaV15SHA256 && HTTPMessageSignatures.defaultAlgorithm(for: key) == .rsaPSSSHA512)
        else {
            return .failure(
                Refusal(
                    code: .algorithmNotAllowed,
                    reason: "Algorithm '\(algorithm.rawValue)' does not fit key \(keyID.prefix(64)) (\(key.algorithmDescription))."
                )
            )
        }
        guard let created = input.created else {
            return .failure(Refusal(code: .signatureInvalid, reason: "The signature parameters have no created time."))
        }
        if created > now + policy.window || now - created > policy.window {
            return .failure(
                Refusal(
                    code: .signatureExpired,
                    reason: "The signature was created \(now - created) s ago; it must be within \(policy.window) s of the server clock."
                )
            )
        }
        if let expires = input.expires, expires <= now {
            return .failure(Refusal(code: .signatureExpired, reason: "The signature expired \(now - expires) s ago."))
        }
        if policy.requireNonce && (input.nonce ?? "").isEmpty {
            return .failure(Refusal(code: .signatureInvalid, reason: "The signature parameters need a nonce (replay protection)."))
        }
        var required = policy.requiredComponents
        if expectsBody { required.append("content-digest") }
        if let missing = required.first(where: { !input.components.contains($0) }) {
            return .failure(Refusal(code: .signatureInvalid, reason: "The signature must cover \(missing)."))
        }
        if expectsBody, field("content-digest", in: request) == nil {
            return .failure(Refusal(code: .digestMismatch, reason: "A request with a body needs a Content-Digest header (RFC 9530)."))
        }
        let base: [UInt8]
        do {
            base = try HTTPMessageSignatures.signatureBase(for: request, input: input)
        } catch {
            return .failure(Refusal(code: .signatureInvalid, reason: error.message))
        }
        guard HTTPMessageSignatures.verify(signature, base: base, key: key, algorithm: algorithm) else {
            return .failure(
                Refusal(
                    code: .signatureInvalid,
                    reason: "The signature does not match the covered components; check the method, URL and headers you signed."
                )
            )
        }
        return .success(Verified(keyID: keyID, label: input.label, algorithm: algorithm, created: created, nonce: input.nonce))
    }

    /// The body half of the check: a non-empty body must be covered by a `content-digest` that matches it.
    public static func checkBody(request: HTTPRequestView, headers: Headers, body: [UInt8]) -> Result<Void, Refusal> {
        guard !body.isEmpty else { return .success(()) }
        guard headers.input.components.contains("content-digest") else {
            return .failure(Refusal(code: .signatureInvalid, reason: "The signature must cover content-digest."))
        }
        guard let digest = field("content-digest", in: request) else {
            return .failure(Refusal(code: .digestMismatch, reason: "A request with a body needs a Content-Digest header (RFC 9530)."))
        }
        do {
            guard try ContentDigest.matches(digest, body: body) else {
                return .failure(Refusal(code: .digestMismatch, reason: "The body does not match its Content-Digest: it changed after signing."))
            }
        } catch {
            return .failure(Refusal(code: .digestMismatch, reason: error.message))
        }
        return .success(())
    }

    /// The same as `verify(request:body:...)`, with the headers already parsed.
    public static func verify(
        request: HTTPRequestView,
        headers: Headers,
        body: [UInt8],
        now: Int,
        policy: Policy = Policy(),
        resolveKey: (String) -> VerificationKey?
    ) -> Result<Verified, Refusal> {
        let verified = verifyHeaders(request: request, headers: headers, expectsBody: !body.isEmpty, now: now, policy: policy, resolveKey: resolveKey)
        guard case .success = verified else { return verified }
        if case .failure(let refusal) = checkBody(request: request, headers: headers, body: body) { return .failure(refusal) }
        return verified
    }

    static func field(_ name: String, in request: HTTPRequestView) -> String? {
        let values = request.fields.filter { $0.name.lowercased() == name }.map(\.value)
        return values.isEmpty ? nil : values.joined(separator: ", ")
    }
}
