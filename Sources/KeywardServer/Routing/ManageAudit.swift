import Hummingbird
import KeywardCore
import Logging

/// How a change made through the management API reaches the audit log: which key, from which
/// address, the route's action (`ManageAuditActions`; never a body), the object changed, and the
/// outcome (`ok`, `status_4xx`, or the refusal's code).
///
/// The handler runs inside an `AuditScope`, so a credential write appends the entry in its own
/// transaction (the change and its entry commit together). Other changes are recorded after the
/// handler; if that append fails the change has still happened, so the caller still gets its answer
/// and the failure is logged rather than turned into an error for a change that committed.
enum ManageAudit {
    static func run(_ scope: AuditScope, logger: Logger, _ work: () async throws -> Response) async throws -> Response {
        do {
            let response = try await scope.run(work)
            do {
                try await scope.finish(
                    outcome: response.status.code < 400 ? "ok" : "status_\(response.status.code)",
                    target: response.headers[.keywardObjectID]
                )
            } catch {
                logger.error(
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
}

extension AuditActor {
    /// A client address as the audit log writes it.
    static func describe(_ address: [UInt8]) -> String {
        address.count == 4 ? address.map(String.init).joined(separator: ".") : IPNetwork.formatIPv6(address)
    }
}
