import FuzzSupport
import KeywardDialects

/// The cabinet's `multipart/form-data` reader (certificate and Apple Pay uploads). The input's first
/// line is the Content-Type header (the boundary comes from it, as in the cabinet); the rest is the body.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMultipart(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = fuzzBytes(data, size)
    let newline = bytes.firstIndex(of: 0x0A) ?? bytes.endIndex
    let contentType = String(decoding: bytes[..<newline], as: UTF8.self)
    guard let boundary = MultipartForm.boundary(contentType: contentType) else { return 0 }
    let body = Array(bytes[min(newline + 1, bytes.endIndex)...])
    _ = try? MultipartForm.parse(body, boundary: boundary)
    return 0
}

@_cdecl("FuzzMultipart_main")
public func FuzzMultipartMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runLibFuzzer(argc, argv, fuzzMultipart)
}
