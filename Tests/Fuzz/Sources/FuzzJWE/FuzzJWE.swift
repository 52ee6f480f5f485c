import FuzzSupport
import KeywardCrypto

/// JWE compact parsing and decryption with a fixed P-256 recipient (FuzzKeys.recipient).
///
/// Input whose first byte is even is the compact JWE itself. Otherwise the rest is split on newlines
/// into its parts, each base64url-encoded here: the fuzzer then mutates the protected header's JSON
/// (alg, enc, epk, apu, crit…) directly instead of its base64.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJWE(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = fuzzBytes(data, size)
    guard let mode = bytes.first else { return 0 }
    let compact: String
    if mode & 1 == 0 {
        compact = String(decoding: bytes.dropFirst(), as: UTF8.self)
    } else {
        compact = bytes.dropFirst().split(separator: 0x0A, omittingEmptySubsequences: false)
            .map { Base64URL.encode(Array($0)) }.joined(separator: ".")
    }
    _ = try? JWE.decrypt(compact, with: FuzzKeys.recipient)
    return 0
}

@_cdecl("FuzzJWE_main")
public func FuzzJWEMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runLibFuzzer(argc, argv, fuzzJWE)
}
