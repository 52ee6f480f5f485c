import Foundation
import Hummingbird
import KeywardCore

/// Records every change made through the management API (any method but GET) in the audit log: which
/// key, from which address, what (method and path, whose ids are not secrets; never a body), the object
/// changed, and the outcome (`ok` or the refusal's code).
///
/// The handler runs inside an `AuditScope`, so a credential write appends its entry in its own
/// transaction (the change and its entry commit together). Other changes are recorded after the handler;
/// if that append fails the change has still happened, so the caller still gets its answer and the
/// failure is logged rather than turned into an error for a change that committed.
struct AuditMiddleware: RouterMiddleware {
    typealias Context = ManageContext
    let audit: AuditLog

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method != .get, request.method != .head else { return try await next(request, context) }
        let key = context.principal
        let actor = AuditActor(type: "key", id: key.keyID, address: context.clientAddress.map(Self.describe))
        let scope = AuditScope(
            log: audit,
            merchantID: key.merchantID,
            mode: key.mode,
            actor: actor,
            action: "\(request.method.rawValue) \(request.uri.path)",
            target: Self.lastIdentifier(in: request.uri.path)
        )
        do {
            let response = try await scope.run { try await next(request, context) }
            do {
                try await scope.finish(
                    outcome: response.status.code < 400 ? "ok" : "status_\(response.status.code)",
                    target: response.headers[.keywardObjectID]
                )
            } catch {
                context.logger.error(
                    "audit entry not recorded",
                    metadata: ["action": "\(scope.action)", "error": "\(String(describing: error).prefix(200))"]
                )
            }
            return response
        } catch let error as KeywardError {
            _ = try? await scope.finish(outcome: error.code.rawValue)
            throw error
        }
    }

    /// The last path segment shaped like one of our ids (`prefix_…`).
    static func lastIdentifier(in path: String) -> String? {
        path.split(separator: "/").map(String.init).last { segment in
            guard let prefix = segment.split(separator: "_", maxSplits: 1).first, prefix.count < segment.count else { return false }
            return (2...5).contains(prefix.count) && segment.count >= 10
        }
    }

    static func describe(_ address: [UInt8]) -> String {
        address.count == 4 ? address.map(String.init).joined(separator: ".") : IPNetwork.formatIPv6(address)
    }
}

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
