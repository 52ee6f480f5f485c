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
        // The checks are `NativeSignatureChecks.swift`'s, in the order the gateway's steps run them.
        do throws(Refusal) {
            let input = headers.input
            let keyID = try Self.keyID(of: headers).get()
            guard let key = resolveKey(keyID) else { throw unknownKey(keyID) }
            let algorithm = try checkAlgorithm(input, key: key, keyID: keyID, policy: policy).get()
            let created = try checkTime(input, now: now, policy: policy).get()
            try checkNonce(input, policy: policy).get()
            try checkCoverage(request: request, input: input, expectsBody: expectsBody, policy: policy).get()
            try checkSignature(request: request, headers: headers, key: key, algorithm: algorithm).get()
            return .success(Verified(keyID: keyID, label: input.label, algorithm: algorithm, created: created, nonce: input.nonce))
        } catch {
            return .failure(error)
        }
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
