import Foundation
import Logging
import NIOCore
import Testing

@testable import KeywardServer

/// The server's log lines: one request id per line, under one name, in text or JSON that a collector can parse.
struct LogOutputTests {
    static let time = Date(timeIntervalSince1970: 1_800_000_000.25)

    @Test func textLinesNameTheRequestIdOnceAndQuoteWhatNeedsIt() {
        let line = LogLine.render(
            format: .text,
            time: Self.time,
            level: .warning,
            label: "keyward",
            message: "audit entry not recorded",
            source: "KeywardServer",
            metadata: ["hb.request.id": "req_abc", "action": "PUT /v1/manage/webhook", "note": "say \"hi\"\nnow"]
        )
        #expect(
            line
                == #"2027-01-15T08:00:00.250Z warning keyward: audit entry not recorded action="PUT /v1/manage/webhook" note="say \"hi\"\nnow" request_id=req_abc"#
                + "\n"
        )
        #expect(!line.contains("hb.request.id"))
    }

    /// A line whose code names the request id itself, as well as through the request's logger, prints it once.
    @Test func aRequestIdGivenTwiceIsPrintedOnce() {
        let metadata: Logger.Metadata = ["hb.request.id": "req_abc", "request_id": "req_abc", "error_type": "SQLiteError"]
        let text = LogLine.render(
            format: .text,
            time: Self.time,
            level: .error,
            label: "keyward",
            message: "unexpected error",
            source: "KeywardServer",
            metadata: metadata
        )
        #expect(text.components(separatedBy: "request_id=").count == 2, "\(text)")
        let json = LogLine.render(
            format: .json,
            time: Self.time,
            level: .error,
            label: "keyward",
            message: "unexpected error",
            source: "KeywardServer",
            metadata: metadata
        )
        #expect(json.components(separatedBy: "\"request_id\"").count == 2, "\(json)")
    }

    @Test func jsonLinesAreOneObjectEachWithNestedMetadataKept() throws {
        let line = LogLine.render(
            format: .json,
            time: Self.time,
            level: .info,
            label: "keyward",
            message: "request\nsplit",
            source: "KeywardServer",
            metadata: [
                "hb.request.id": "req_abc", "status": "401", "tags": ["a", "b"],
                "peer": ["address": "127.0.0.1"], "message": "cannot replace the message",
            ]
        )
        #expect(line.hasSuffix("\n") && line.dropLast().contains("\n") == false, "one line, the message's newline escaped")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["request_id"] as? String == "req_abc" && object["hb.request.id"] == nil)
        #expect(object["message"] as? String == "request\nsplit")
        #expect(object["level"] as? String == "info" && object["time"] as? String == "2027-01-15T08:00:00.250Z")
        #expect(object["tags"] as? [String] == ["a", "b"])
        #expect((object["peer"] as? [String: String])?["address"] == "127.0.0.1")
    }

    @Test func aSettingThatIsNeitherFormatIsRefused() throws {
        #expect(try Settings.resolve(flags: ["log_format": "json"], environment: [:]).logFormat == .json)
        #expect(throws: SettingsError.self) { try Settings.resolve(flags: ["log_format": "xml"], environment: [:]) }
    }
}

struct ListeningAddressTests {
    @Test func addressesPrintAsPeopleTypeThem() throws {
        #expect(listeningAddress(try SocketAddress(ipAddress: "127.0.0.1", port: 8443), port: 8443) == "127.0.0.1:8443")
        #expect(listeningAddress(try SocketAddress(ipAddress: "::1", port: 9443), port: 8443) == "[::1]:9443")
        #expect(listeningAddress(nil, port: 8443) == "port 8443")
    }
}
