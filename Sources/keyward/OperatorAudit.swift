import Foundation
import KeywardCore
import KeywardCrypto
import KeywardServer

/// The audit trail of the platform operator's credential changes made with the CLI, kept like the API's
/// and the cabinet's: the entry commits in the same transaction as the change it describes.
enum OperatorAudit {
    /// The operator, named by the login that ran the command (the CLI has no other identity).
    static var actor: AuditActor {
        AuditActor(type: "operator", id: ProcessInfo.processInfo.environment["USER"].flatMap { $0.isEmpty ? nil : $0 } ?? "cli")
    }

    /// Runs `change` inside an audit scope for `action` (the vocabulary the API and the cabinet use); records the entry by itself when no credential
    /// write inside did (a failure to do so is reported, not thrown: the change has happened).
    static func run<T: Sendable>(
        _ services: KeywardServices,
        merchantID: String?,
        mode: Mode?,
        action: AuditAction,
        detail: String? = nil,
        target: String? = nil,
        _ change: () async throws -> T
    ) async throws -> T {
        let scope = AuditScope(
            log: services.audit,
            merchantID: merchantID,
            mode: mode,
            actor: actor,
            action: action,
            detail: detail,
            target: target
        )
        let result = try await scope.run(change)
        do {
            try await scope.finish()
        } catch {
            FileHandle.standardError.write(Data("warning: the change was made but its audit entry was not recorded: \(error)\n".utf8))
        }
        return result
    }

    /// Records a change that has already happened (one that names its object only once made); a failure
    /// is reported, not thrown, as in `run`.
    static func record(_ services: KeywardServices, merchantID: String?, action: AuditAction, target: String?) async {
        do {
            try await services.audit.record(merchantID: merchantID, actor: actor, action: action, targetID: target)
        } catch {
            FileHandle.standardError.write(Data("warning: the change was made but its audit entry was not recorded: \(error)\n".utf8))
        }
    }
}
