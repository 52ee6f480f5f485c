import Foundation
import Hummingbird
import KeywardCore

/// `/v1/manage/audit`: the merchant's audit entries, newest first, and their export as JSON lines.
struct AuditController {
    let audit: AuditLog

    func addRoutes(to manage: ManageRoutes) {
        manage.get("audit", needs: .read(.audit)) { request, context in
            let key = context.principal
            let limit =
                try request.uri.queryParameters["limit"].map { text -> Int in
                    guard let value = Int(text), (1...1000).contains(value) else {
                        throw KeywardError(.invalidInput, .invalidField, "'limit' is 1 to 1000.", field: "limit")
                    }
                    return value
                } ?? 100
            let before = try request.uri.queryParameters["before"].map { text -> Int64 in
                guard let value = Int64(text), value > 0 else {
                    throw KeywardError(.invalidInput, .invalidField, "'before' is a sequence number.", field: "before")
                }
                return value
            }
            // A test key reads test-mode entries only: live and merchant-wide changes are not its to see.
            let entries = try await audit.list(
                merchantID: key.merchantID,
                onlyMode: key.mode == .test ? .test : nil,
                action: request.uri.queryParameters["action"].map(String.init),
                before: before,
                limit: limit
            )
            return try JSONResponse.make(ListResource(data: entries, has_more: entries.count == limit))
        }
        manage.get("audit/export", needs: .read(.audit)) { _, context in
            let key = context.principal
            var lines = ""
            var before: Int64?
            while true {
                let page = try await audit.list(merchantID: key.merchantID, onlyMode: key.mode == .test ? .test : nil, before: before, limit: 1000)
                for entry in page { lines += AuditExport.line(entry) + "\n" }
                guard page.count == 1000, let last = page.last else { break }
                before = last.seq
            }
            return Response(
                status: .ok,
                headers: [.contentType: "application/x-ndjson", .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(string: lines))
            )
        }
    }
}

/// One entry as a JSON line (ISO 8601 times, snake_case keys).
public enum AuditExport {
    public static func line(_ entry: AuditEntry) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return (try? encoder.encode(entry)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}
