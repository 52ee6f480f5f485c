import Foundation
import Testing

@testable import KeywardDialects

/// The cabinet's multipart reader: what browsers send is read exactly; anything else is refused with a
/// reason (which the cabinet answers as a 400 `malformed_form`).
struct MultipartFormTests {
    static func body(_ parts: [String], boundary: String = "XyZ") -> [UInt8] {
        Array((parts.map { "--\(boundary)\r\n\($0)\r\n" }.joined() + "--\(boundary)--\r\n").utf8)
    }

    @Test func fieldsAndFilesAreReadByteForByte() throws {
        let binary: [UInt8] = [0x30, 0x82, 0x0D, 0x0A, 0x2D, 0x2D, 0x00, 0xFF]  // CRLF and "--" inside a file
        var bytes = Array("--XyZ\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\ntoken\r\n".utf8)
        bytes += Array(
            "--XyZ\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a \\\"b\\\".cer\"\r\nContent-Type: application/pkix-cert\r\n\r\n"
                .utf8
        )
        bytes += binary + Array("\r\n--XyZ\r\nContent-Disposition: form-data; name=\"files\"; filename=\"\"\r\n\r\n\r\n--XyZ--\r\n".utf8)
        let form = try MultipartForm.parse(bytes, boundary: "XyZ")
        #expect(form.fields == ["csrf": "token"])
        #expect(form.files["files"]?.map(\.bytes) == [binary], "the empty file input is left out")
        #expect(MultipartForm.boundary(contentType: "multipart/form-data; boundary=\"XyZ\"") == "XyZ")
        #expect(MultipartForm.boundary(contentType: "application/x-www-form-urlencoded") == nil)
    }

    @Test(arguments: [
        "no delimiter at all",
        "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nnever closed",
        "--XyZ\r\nno blank line after headers\r\n--XyZ--\r\n",
        "--XyZ\r\nContent-Type: text/plain\r\n\r\nno disposition\r\n--XyZ--\r\n",
        "--XyZjunk",
    ])
    func malformedBodiesAreRefusedWithAReason(body: String) {
        #expect(throws: MultipartForm.Malformed.self) { try MultipartForm.parse(Array(body.utf8), boundary: "XyZ") }
    }

    @Test func tooManyPartsAreRefused() {
        let parts = (0..<65).map { "Content-Disposition: form-data; name=\"f\($0)\"\r\n\r\nx" }
        #expect(throws: MultipartForm.Malformed.self) { try MultipartForm.parse(Self.body(parts), boundary: "XyZ") }
    }
}

/// A boundary longer than RFC 2046's 70 characters is refused: each delimiter search costs the
/// boundary's length at every position of the body, so a member who sent a 64 KiB boundary of dashes
/// with a 1 MiB body of dashes broken just short of a match kept a core busy for about 3·10¹⁰ byte
/// comparisons (found reading the reader while writing its fuzz target; the fuzzer's 4 KiB inputs
/// are too short to show it).
struct MultipartBoundaryLimitTests {
    @Test func aBoundaryOfSeventyCharactersIsRead() throws {
        let boundary = String(repeating: "a", count: 70)
        #expect(MultipartForm.boundary(contentType: "multipart/form-data; boundary=\(boundary)") == boundary)
        let form = try MultipartForm.parse(
            MultipartFormTests.body(["Content-Disposition: form-data; name=\"f\"\r\n\r\nx"], boundary: boundary),
            boundary: boundary
        )
        #expect(form.fields == ["f": "x"])
    }

    @Test func aLongerBoundaryIsRefusedBeforeTheBodyIsSearched() {
        let boundary = String(repeating: "-", count: 64 * 1024)
        #expect(MultipartForm.boundary(contentType: "multipart/form-data; boundary=\(boundary)") == nil)
        #expect(MultipartForm.boundary(contentType: "multipart/form-data; boundary=\"\(String(repeating: "b", count: 71))\"") == nil)
        // The worst case for the old search: every position matches all but the last bytes of the delimiter.
        let run = [UInt8](repeating: UInt8(ascii: "-"), count: 64 * 1024) + [UInt8(ascii: "x")]
        let body = Array((0..<16).map { _ in run }.joined())
        #expect(throws: MultipartForm.Malformed.self) { try MultipartForm.parse(body, boundary: boundary) }
    }
}

/// What a hostile member could send to an upload form instead of what a browser sends: each is refused
/// with a reason (a 400 `malformed_form` in the cabinet, see CabinetUploadLimitTests), never a crash,
/// and never read as a form with its last part silently dropped or cut short.
struct MultipartHostileInputTests {
    @Test func aContentTypeWithoutABoundaryHasNone() {
        #expect(MultipartForm.boundary(contentType: "multipart/form-data") == nil)
        #expect(MultipartForm.boundary(contentType: "multipart/form-data; boundary=") == nil)
        #expect(MultipartForm.boundary(contentType: "multipart/form-data; boundary=\"\"") == nil)
    }

    @Test(arguments: [
        "",
        "--XyZ\r\nContent-Disposition: form-data; name=\"a\"",
        "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--Xy",
        "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--XyZ",
        "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--XyZ\r\n",
        "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--XyZ\r\nContent-Disposition: form-data; name=\"b\"\r\n\r\ny",
    ])
    func anUnterminatedBodyIsRefused(body: String) {
        #expect(throws: MultipartForm.Malformed.self) { try MultipartForm.parse(Array(body.utf8), boundary: "XyZ") }
    }

    @Test func whatFollowsTheClosingDelimiterIsIgnored() throws {
        let body = MultipartFormTests.body(["Content-Disposition: form-data; name=\"a\"\r\n\r\nx"]) + Array("epilogue\r\n--XyZ\r\nnot a part".utf8)
        #expect(try MultipartForm.parse(body, boundary: "XyZ").fields == ["a": "x"])
    }

    /// multipart-kit 4.7.1 indexes a 128-entry table with a header name's bytes: a byte of 0x80 or more
    /// there would take the server down (found reading its parser while replacing ours with it).
    @Test(arguments: [[UInt8(0xff)], [0x43, 0xc3, 0xa9], [0x80, 0x3a, 0x20, 0x78]])
    func aHeaderNameThatIsNotASCIIIsRefusedNotACrash(name: [UInt8]) {
        let body = Array("--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n".utf8) + name + Array(": x\r\n\r\nx\r\n--XyZ--\r\n".utf8)
        #expect(throws: MultipartForm.Malformed.self) { try MultipartForm.parse(body, boundary: "XyZ") }
    }

    @Test func nonASCIIInHeaderValuesAndBodiesIsRead() throws {
        let body =
            Array("--XyZ\r\nContent-Disposition: form-data; name=\"files\"; filename=\"café.cer\"\r\n\r\n".utf8) + [0xff, 0x80, 0xc3]
            + Array("\r\n--XyZ--\r\n".utf8)
        let form = try MultipartForm.parse(body, boundary: "XyZ")
        #expect(form.files["files"] == [UploadedFile(fileName: "café.cer", bytes: [0xff, 0x80, 0xc3])])
    }

    @Test func aBoundaryThatIsNotPrintableASCIIIsRefused() {
        #expect(MultipartForm.boundary(contentType: "multipart/form-data; boundary=caf\u{e9}") == nil)
        #expect(throws: MultipartForm.Malformed.self) { try MultipartForm.parse(Array("--a\u{e9}\r\n".utf8), boundary: "a\u{e9}") }
    }

    @Test func aHugeHeaderIsRefused() {
        let padding = String(repeating: "a", count: 64 * 1024)
        let body = MultipartFormTests.body(["Content-Disposition: form-data; name=\"f\"\r\nX-Padding: \(padding)\r\n\r\nx"])
        let error = #expect(throws: MultipartForm.Malformed.self) { try MultipartForm.parse(body, boundary: "XyZ") }
        #expect(error?.reason.contains("header") == true, "\(String(describing: error))")
    }

    @Test func thousandsOfPartsAreRefused() {
        let parts = (0..<5000).map { "Content-Disposition: form-data; name=\"f\($0)\"\r\n\r\nx" }
        let error = #expect(throws: MultipartForm.Malformed.self) { try MultipartForm.parse(MultipartFormTests.body(parts), boundary: "XyZ") }
        #expect(error?.reason == "The form has too many parts.")
    }
}
