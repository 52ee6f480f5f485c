import FuzzSupport
import KeywardCrypto

/// RFC 9421 headers: the input is read as `Signature-Input`, as `Signature` and as `Content-Digest`
/// (RFC 9530). Each input that parses gets its signature base built against a fixed request, and a
/// verification attempt, as the gateway does.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPSignatures(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = fuzzBytes(data, size)
    let header = String(decoding: bytes, as: UTF8.self)
    let signatures = (try? HTTPMessageSignatures.parseSignatures(header)) ?? [:]
    _ = try? ContentDigest.matches(header, body: bytes)
    guard let inputs = try? HTTPMessageSignatures.parseInputs(header) else { return 0 }
    for input in inputs {
        _ = input.headerValue
        guard let base = try? HTTPMessageSignatures.signatureBase(for: request, input: input) else { continue }
        let algorithm = input.algorithm.flatMap(HTTPSignatureAlgorithm.init(rawValue:)) ?? .rsaV15SHA256
        _ = HTTPMessageSignatures.verify(signatures[input.label] ?? [], base: base, key: FuzzKeys.myPOS, algorithm: algorithm)
    }
    return 0
}

let request = HTTPRequestView(
    method: "POST",
    scheme: "https",
    authority: "gateway.example:8443",
    path: "/v1/payments",
    query: "a=1&b=2",
    fields: [
        ("Content-Type", "application/json"), ("Content-Digest", "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"),
        ("X-Repeated", "one"), ("x-repeated", " two "),
    ]
)

@_cdecl("FuzzHTTPSignatures_main")
public func FuzzHTTPSignaturesMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runLibFuzzer(argc, argv, fuzzHTTPSignatures)
}
