import FuzzSupport
import KeywardCrypto

/// Public keys merchants register: PEM text (CERTIFICATE, PKCS7, PUBLIC KEY, RSA PUBLIC KEY, several
/// blocks) and bare SubjectPublicKeyInfo DER. Both readers see every input.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPublicKeyImport(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = fuzzBytes(data, size)
    if let keys = try? PublicKeyImport.parse(pem: String(decoding: bytes, as: UTF8.self), minimumRSABits: 1024) {
        for key in keys {
            _ = key.key.spkiPEM
            _ = key.key.algorithmDescription
        }
    }
    if let key = try? PublicKeyImport.spki(der: bytes, minimumRSABits: 1024) { _ = key.spkiPEM }
    return 0
}

@_cdecl("FuzzPublicKeyImport_main")
public func FuzzPublicKeyImportMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runLibFuzzer(argc, argv, fuzzPublicKeyImport)
}
