import KeywardCrypto

/// Fixed keys the fuzz targets check against. Made for fuzzing only (`Tests/Fuzz/make-seeds.sh` signs and
/// encrypts the seed inputs with their private halves, kept in `Tests/Fuzz/keys/`); they protect nothing.
public enum FuzzKeys {
    /// The myPOS / dialect verification key (RSA 2048, public).
    public static let myPOS: VerificationKey = {
        guard let imported = try? PublicKeyImport.parse(pem: myPOSPEM).first else { fatalError("FuzzKeys.myPOSPEM does not parse") }
        return imported.key
    }()

    /// The JWE recipient (P-256, private).
    public static let recipient: JWK = {
        guard let key = try? JWK.parse(recipientJSON, allowPrivate: true) else { fatalError("FuzzKeys.recipientJSON does not parse") }
        return key
    }()

    static let myPOSPEM = """
        -----BEGIN PUBLIC KEY-----
        MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAvH32rTu+7FLyjVwkzrfB
        6ZruFOlfOAcw1EQS7sskseTDf0skAm8RpV3xv+2myC5ikZ8o+JEQLt46p028iO3Q
        rxX73hUBd+YUkfiQ2dNH/r0GbzylUiHsjYHz9VE3S0ZfIhEDJJ8El6SddzpAn62G
        il/2C7VCUyud9i6DVWsuNItXbXB2zkxGgXQXip4B/squ9eRsXt0lNmz6vLqXHFaY
        85ugAIPQzxTEqe07w5MX2YtDWcBFKujuo1z5B+YBFb3X+nzaPLCO1dPx13u6Uwtv
        lkEblzcW7AiFQcaRROD7amJmfzMSzcvuy4u4C9y6nIdPv84HgggKbhWhuTY9HAso
        kwIDAQAB
        -----END PUBLIC KEY-----
        """

    static let recipientJSON = """
        {"kty":"EC","crv":"P-256","x":"v9MQiyE2AXOAmpo37xQ91HR2QJ3PzNgCSLtqpHrUnAA","y":"T6SesQM1SY31xT5n2XH_u1f6irwsohIpkbCMVdmjNRI","d":"0eN0_yCtQrTXQwptmS93TSJEajUfLduZq36MKl0fd3U","kid":"fuzz-recipient"}
        """
}

/// The fuzzer's bytes as an array.
public func fuzzBytes(_ data: UnsafePointer<UInt8>, _ size: Int) -> [UInt8] {
    Array(UnsafeBufferPointer(start: data, count: size))
}

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt

/// Starts libFuzzer with `callback`. On Linux SwiftPM links an executable with `--defsym main=<Target>_main`,
/// so each target defines `<Target>_main` (with `@_cdecl`) and hands over to libFuzzer's driver here;
/// `LLVMFuzzerTestOneInput` is defined too, for libFuzzer's own `main`.
public func runLibFuzzer(
    _ argc: CInt,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv, callback)
}
