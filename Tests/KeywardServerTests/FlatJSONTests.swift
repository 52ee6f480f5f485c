import Foundation
import NIOCore
import Testing

@testable import KeywardServer

@Suite struct FlatJSONTests {
    /// Whatever the strings hold, a standard JSON parser reads them back unchanged.
    @Test func escapesEverythingJSONRequires() throws {
        let tricky = ["plain", "quote \" and backslash \\", "new\nline\ttab\u{0001}\u{001f}", "ünïcødé 🔑", "</script>", ""]
        var json = FlatJSON()
        for (index, value) in tricky.enumerated() { json.add("k\(index)", value) }
        json.add("list", tricky)
        json.add("empty", [String]())
        let bytes = json.bytes()
        let object = try #require(try JSONSerialization.jsonObject(with: Data(buffer: bytes)) as? [String: Any])
        for (index, value) in tricky.enumerated() { #expect(object["k\(index)"] as? String == value) }
        #expect(object["list"] as? [String] == tricky)
        #expect(object["empty"] as? [String] == [])
        #expect(object.count == tricky.count + 2)
    }
}
