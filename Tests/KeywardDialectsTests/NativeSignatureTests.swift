import Crypto
import Foundation
import KeywardCrypto
import KeywardDialects
import Testing

@Suite struct NativeSignatureTests {
    let key = Curve25519.Signing.PrivateKey()
    let now = 1_800_000_000
    let body = Array(#"{"amount":"5.00"}"#.utf8)

    /// A request signed by `signer` over `components`, with optional changes to the parameters.
    func signed(
        components: [String] = ["@method", "@target-uri", "content-digest"],
        created: Int? = nil,
        expires: Int? = nil,
        nonce: String? = "n1",
        keyID: String = "key_1",
        algorithm: HTTPSignatureAlgorithm? = .ed25519,
        signer: HTTPSigningKey? = nil
    ) throws -> HTTPRequestView {
        var request = HTTPRequestView(
            method: "POST",
            scheme: "https",
            authority: "gw.example",
            path: "/v1/payments",
            query: "a=1",
            fields: [("Content-Digest", ContentDigest.make(for: body)), ("Content-Type", "application/json")]
        )
        let input = SignatureInput.make(
            components: components,
            created: created ?? now,
            expires: expires,
            nonce: nonce,
            keyID: keyID,
            algorithm: algorithm
        )
        let signature = try (signer ?? .ed25519(key)).sign(try HTTPMessageSignatures.signatureBase(for: request, input: input))
        request.fields += [("Signature-Input", input.headerValue), ("Signature", "sig1=:\(Data(signature).base64EncodedString()):")]
        return request
    }

    func check(
        _ request: HTTPRequestView,
        body: [UInt8]? = nil,
        policy: NativeSignature.Policy = .init()
    ) -> Result<NativeSignature.Verified, NativeSignature.Refusal> {
        NativeSignature.verify(request: request, body: body ?? self.body, now: now, policy: policy) { [key] id in
            id == "key_1" ? .ed25519(key.publicKey) : nil
        }
    }

    func code(_ result: Result<NativeSignature.Verified, NativeSignature.Refusal>) -> String? {
        if case .failure(let refusal) = result { return refusal.code.rawValue }
        return nil
    }

    @Test func aCorrectSignatureVerifiesAndReturnsItsNonce() throws {
        let verified = try check(try signed()).get()
        #expect(verified.keyID == "key_1")
        #expect(verified.label == "sig1")
        #expect(verified.algorithm == .ed25519)
        #expect(verified.created == now)
        #expect(verified.nonce == "n1")
    }

    @Test func everyRefusalHasItsCode() throws {
        var stripped = try signed()
        stripped.fields.removeAll { $0.name == "Signature" }
        #expect(code(check(stripped)) == "signature_missing")
        #expect(code(check(try signed(keyID: "key_unknown"))) == "unknown_key_index")
        #expect(code(check(try signed(created: now - 301))) == "signature_expired")
        #expect(code(check(try signed(created: now + 301))) == "signature_expired")
        #expect(code(check(try signed(expires: now - 1))) == "signature_expired")
        #expect(code(check(try signed(nonce: nil))) == "signature_invalid")
        #expect(code(check(try signed(components: ["@method", "content-digest"]))) == "signature_invalid")
        #expect(code(check(try signed(components: ["@method", "@target-uri"]))) == "signature_invalid", "a body must be covered by content-digest")
        #expect(code(check(try signed(), body: body + [0x20])) == "digest_mismatch")
        #expect(code(check(try signed(algorithm: .ecdsaP256SHA256))) == "algorithm_not_allowed")
        var onlyRSA = NativeSignature.Policy()
        onlyRSA.allowedAlgorithms = [.rsaPSSSHA512]
        #expect(code(check(try signed(), policy: onlyRSA)) == "algorithm_not_allowed")
        // Signed by another key under the registered id.
        #expect(code(check(try signed(signer: .ed25519(Curve25519.Signing.PrivateKey())))) == "signature_invalid")
        // A changed URL after signing.
        var moved = try signed()
        moved.query = "a=2"
        #expect(code(check(moved)) == "signature_invalid")
        // Garbage headers.
        var garbage = try signed()
        garbage.fields = garbage.fields.map { $0.name == "Signature" ? ($0.name, "sig1=:!!!:") : $0 }
        #expect(code(check(garbage)) == "signature_invalid")
    }

    @Test func aGETWithoutBodyNeedsNoDigest() throws {
        var request = HTTPRequestView(method: "GET", scheme: "https", authority: "gw.example", path: "/v1/auth/test", query: nil, fields: [])
        let input = SignatureInput.make(components: ["@method", "@target-uri"], created: now, nonce: "x", keyID: "key_1")
        let signature = try HTTPSigningKey.ed25519(key).sign(try HTTPMessageSignatures.signatureBase(for: request, input: input))
        request.fields = [("Signature-Input", input.headerValue), ("Signature", "sig1=:\(Data(signature).base64EncodedString()):")]
        #expect(try check(request, body: []).get().algorithm == .ed25519, "no alg parameter: the key's algorithm")
    }
}
