import KeywardCrypto

/// The checks `NativeSignature.verifyHeaders` makes, one function each and in the order it makes them.
/// `ProviderVerification.httpSignature` (Core) runs them as separate named steps, so the owner's
/// diagnosis says which one failed and the gateway answers its code; `verifyHeaders` composes the same
/// functions for the pure callers (manual signing, the client library). One rule, written once.
extension NativeSignature {
    /// The `keyid` the signature names.
    public static func keyID(of headers: Headers) -> Result<String, Refusal> {
        guard let keyID = headers.input.keyID else {
            return .failure(Refusal(code: .signatureInvalid, reason: "The signature parameters have no keyid."))
        }
        return .success(keyID)
    }

    /// The refusal for a `keyid` that names no usable key (unknown, revoked, past its certificate's end).
    public static func unknownKey(_ keyID: String) -> Refusal {
        Refusal(code: .unknownKeyIndex, reason: "No registered key has id '\(keyID.prefix(64))' for this merchant and mode.")
    }

    /// The algorithm the signature is checked with: the one it names (or the key's default), if the
    /// policy accepts it and it fits the key.
    public static func checkAlgorithm(
        _ input: SignatureInput,
        key: VerificationKey,
        keyID: String,
        policy: Policy
    ) -> Result<HTTPSignatureAlgorithm, Refusal> {
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
        return .success(algorithm)
    }

    /// `created` within `policy.window` of `now` (seconds since 1970) either way, and `expires` not
    /// reached. Returns `created`, which bounds how long the nonce must be remembered.
    public static func checkTime(_ input: SignatureInput, now: Int, policy: Policy) -> Result<Int, Refusal> {
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
        return .success(created)
    }

    /// A nonce, when the policy requires one (replay protection).
    public static func checkNonce(_ input: SignatureInput, policy: Policy) -> Result<Void, Refusal> {
        if policy.requireNonce && (input.nonce ?? "").isEmpty {
            return .failure(Refusal(code: .signatureInvalid, reason: "The signature parameters need a nonce (replay protection)."))
        }
        return .success(())
    }

    /// The components every signature must cover, and `content-digest` (present and covered) when a
    /// body is declared.
    public static func checkCoverage(request: HTTPRequestView, input: SignatureInput, expectsBody: Bool, policy: Policy) -> Result<Void, Refusal> {
        var required = policy.requiredComponents
        if expectsBody { required.append("content-digest") }
        if let missing = required.first(where: { !input.components.contains($0) }) {
            return .failure(Refusal(code: .signatureInvalid, reason: "The signature must cover \(missing)."))
        }
        if expectsBody, field("content-digest", in: request) == nil {
            return .failure(Refusal(code: .digestMismatch, reason: "A request with a body needs a Content-Digest header (RFC 9530)."))
        }
        return .success(())
    }

    /// The signature itself, over the signature base of the covered components.
    public static func checkSignature(
        request: HTTPRequestView,
        headers: Headers,
        key: VerificationKey,
        algorithm: HTTPSignatureAlgorithm
    ) -> Result<Void, Refusal> {
        let base: [UInt8]
        do {
            base = try HTTPMessageSignatures.signatureBase(for: request, input: headers.input)
        } catch {
            return .failure(Refusal(code: .signatureInvalid, reason: error.message))
        }
        guard HTTPMessageSignatures.verify(headers.signature, base: base, key: key, algorithm: algorithm) else {
            return .failure(
                Refusal(
                    code: .signatureInvalid,
                    reason: "The signature does not match the covered components; check the method, URL and headers you signed."
                )
            )
        }
        return .success(())
    }
}

extension ManualSigning {
    /// The request as the gateway would see it at `url` (an absolute http(s) URL), or `nil` when `url`
    /// is not one: the diagnosis judges a pasted request through this view.
    public static func requestView(method: String, url: String, headers: [(name: String, value: String)]) -> HTTPRequestView? {
        guard let parts = URLParts(url) else { return nil }
        return HTTPRequestView(
            method: method.uppercased(),
            scheme: parts.scheme,
            authority: parts.authority,
            path: parts.path,
            query: parts.query,
            fields: headers
        )
    }
}
