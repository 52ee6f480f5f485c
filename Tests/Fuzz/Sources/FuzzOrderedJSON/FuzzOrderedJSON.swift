import FuzzSupport
import KeywardCrypto
import KeywardDialects

/// The order-preserving JSON reader (myPOS answers, JOSE headers, JWKs). Beyond "no trap": a document
/// that parses must serialize to text that parses back to the same value, and its leaf values (what
/// myPOS signs) must be computable; the myPOS JSON signature check must answer, never trap.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOrderedJSON(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let document = try? OrderedJSON.parse(bytes) else { return 0 }
    let text = document.serialized
    guard let again = try? OrderedJSON.parse(Array(text.utf8)), again == document else {
        fatalError("OrderedJSON round trip changed the document: \(text.prefix(200))")
    }
    _ = document.leafValues
    _ = MyPOSIPC.verifyJSON(document, with: FuzzKeys.myPOS)
    return 0
}

@_cdecl("FuzzOrderedJSON_main")
public func FuzzOrderedJSONMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runLibFuzzer(argc, argv, fuzzOrderedJSON)
}
