import KeywardCore
import KeywardCrypto

/// How the cabinet's changes reach the audit log without ever losing a change's answer.
extension CabinetController {
    /// Runs a member's credential change inside an `AuditScope`: the credential write appends the entry
    /// in its own transaction, so the change and its entry commit together. When the change wrote no
    /// credential (revoking what was already revoked), the entry is recorded after it.
    func audited<T: Sendable>(
        _ context: CabinetContext,
        _ action: AuditAction,
        mode: Mode?,
        detail: String? = nil,
        target: String? = nil,
        _ change: () async throws -> T
    ) async throws -> T {
        let principal = context.principal
        let scope = AuditScope(
            log: services.audit,
            merchantID: principal.merchant.id,
            mode: mode,
            actor: principal.auditActor,
            action: action,
            detail: detail,
            target: target
        )
        let result = try await scope.run(change)
        await finish(scope)
        return result
    }

    /// Records an entry for a change that has already happened (one that is not a credential write).
    /// A failed append is logged, not thrown: the change is done, and the member must see that it is.
    func recordChange(
        merchantID: String?,
        mode: Mode? = nil,
        actor: AuditActor,
        action: AuditAction,
        detail: String? = nil,
        targetID: String?,
        outcome: String = "ok"
    ) async {
        await finish(
            AuditScope(log: services.audit, merchantID: merchantID, mode: mode, actor: actor, action: action, detail: detail, target: targetID),
            outcome: outcome
        )
    }

    private func finish(_ scope: AuditScope, outcome: String = "ok") async {
        do {
            try await scope.finish(outcome: outcome)
        } catch {
            services.logger.error(
                "audit entry not recorded",
                metadata: ["action": "\(scope.action)", "error": "\(String(describing: error).prefix(200))"]
            )
        }
    }
}
