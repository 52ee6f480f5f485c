import Foundation
import KeywardCrypto
import Testing

@Suite struct OrderedJSONTests {
    @Test func keepsDocumentOrderAndLiteralNumbers() throws {
        let text = #"{"z":"1","a":{"y":[1.50,true,null,{"k":"ü\n\"q\""}],"b":false},"n":-10.0,"e":2e3,"s":"\ud83d\ude00"}"#
        let document = try OrderedJSON.parse(Array(text.utf8))
        #expect(document.leafValues == ["1", "1.5", "1", "", "ü\n\"q\"", "", "-10", "2e3", "😀"])
        // Serializing keeps member order and numbers as written.
        let round = try OrderedJSON.parse(Array(document.serialized.utf8))
        #expect(round == document)
        #expect(document.serialized.hasPrefix(#"{"z":"1","a":{"y":[1.50,true,null"#))
    }

    @Test func refusesMalformedJSON() {
        for bad in [
            "", "{", #"{"a"}"#, #"{"a":1,}"#, "[1,]", "01x", #""unterminated"#, #""\x""#, "{\"a\":\"\u{01}\"}", "1.", "-", "1e",
            #""\ud800""#, "[1] 2", "tru",
        ] {
            #expect(throws: OrderedJSON.Malformed.self, "\(bad)") { try OrderedJSON.parse(Array(bad.utf8)) }
        }
        let deep = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(throws: OrderedJSON.Malformed.self) { try OrderedJSON.parse(Array(deep.utf8)) }
    }
}
