import FuzzSupport
import KeywardCrypto

/// JWK parsing, as a merchant's registered key (public only) and as a private key; a key that parses
/// is serialized and read back, and its thumbprint computed.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJWK(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: fuzzBytes(data, size), as: UTF8.self)
    _ = try? JWK.parse(text, allowPrivate: false)
    guard let key = try? JWK.parse(text, allowPrivate: true) else { return 0 }
    _ = key.thumbprint
    guard let again = try? JWK.parse(key.json(includingPrivate: true), allowPrivate: true), again.thumbprint == key.thumbprint else {
        fatalError("A parsed JWK does not read back from its own JSON")
    }
    return 0
}

@_cdecl("FuzzJWK_main")
public func FuzzJWKMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runLibFuzzer(argc, argv, fuzzJWK)
}
