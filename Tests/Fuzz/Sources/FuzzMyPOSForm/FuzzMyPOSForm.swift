import FuzzSupport
import KeywardCrypto
import KeywardDialects

/// myPOS Checkout (IPC) forms: `application/x-www-form-urlencoded` decoding (the gateway reads every
/// myPOS form before it can judge the caller), the raw pairs, and the IPC signature check against a
/// fixed RSA key (FuzzKeys.myPOS).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMyPOSForm(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = fuzzBytes(data, size)
    _ = FormEncoding.rawPairs(bytes)
    guard let pairs = try? FormEncoding.decode(bytes) else { return 0 }
    _ = MyPOSIPC.verify(pairs, with: FuzzKeys.myPOS)
    // What decodes must encode and decode back to the same pairs.
    guard let again = try? FormEncoding.decode(Array(FormEncoding.encode(pairs).utf8)),
        again.map(\.name) == pairs.map(\.name), again.map(\.value) == pairs.map(\.value)
    else {
        fatalError("FormEncoding round trip lost pairs")
    }
    return 0
}

@_cdecl("FuzzMyPOSForm_main")
public func FuzzMyPOSFormMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runLibFuzzer(argc, argv, fuzzMyPOSForm)
}
