import Foundation
import KeywardCrypto
import SQLKit
import Synchronization

/// Who is changing what, for the audit entry of the change being made.
///
/// The edge that knows the actor (the management API, the cabinet, the CLI) runs its work inside a scope;
/// the credential write that commits the change (`CredentialChanges.commit`) appends the scope's entry in
/// its own transaction, so a change never commits without its entry, and an append that fails rolls the
/// change back instead of turning an acknowledged change into an error. One entry per scope: the first
/// committed write records it; the edge records it by itself (`finish`) when nothing inside did.
public final class AuditScope: Sendable {
    /// The scope of the change under way, if any.
    @TaskLocal public static var current: AuditScope?

    let log: AuditLog
    public let merchantID: String?
    public let mode: Mode?
    public let actor: AuditActor
    /// The entry's action text (the vocabulary's name and any detail).
    public let action: String
    let fallbackTarget: String?
    private let recorded = Mutex<AuditEntry?>(nil)

    /// A scope for `action` by `actor` on `merchantID`'s state in `mode` (nil: merchant-wide), with an
    /// optional `detail` after the action's name. `target` names the object when the write does not
    /// (e.g. the id in the request path).
    public init(
        log: AuditLog,
        merchantID: String?,
        mode: Mode?,
        actor: AuditActor,
        action: AuditAction,
        detail: String? = nil,
        target: String? = nil
    ) {
        self.log = log
        self.merchantID = merchantID
        self.mode = mode
        self.actor = actor
        self.action = action.text(detail: detail)
        self.fallbackTarget = target
    }

    /// The entry written by a write inside this scope, once its transaction committed.
    public var entry: AuditEntry? { recorded.withLock { $0 } }

    /// Runs `work` with this scope current.
    public func run<T: Sendable>(_ work: () async throws -> T) async throws -> T {
        try await Self.$current.withValue(self) { try await work() }
    }

    /// Appends this scope's entry inside a write's transaction, unless an earlier write of the scope did.
    /// Returns the entry to mark as recorded once the transaction commits.
    func append(target: String?, on sql: any SQLDatabase) async throws -> AuditEntry? {
        guard entry == nil else { return nil }
        return try await log.append(draft(target: target ?? fallbackTarget, outcome: "ok"), on: sql)
    }

    func committed(_ entry: AuditEntry) { recorded.withLock { if $0 == nil { $0 = entry } } }

    /// Records the entry by itself when no write inside the scope did (changes that are not credential
    /// writes, and refusals, whose `outcome` is their error code). Returns the entry either way.
    @discardableResult
    public func finish(outcome: String = "ok", target: String? = nil) async throws -> AuditEntry {
        if let entry { return entry }
        let draft = draft(target: target ?? fallbackTarget, outcome: outcome)
        let entry = try await log.record(draft)
        committed(entry)
        return entry
    }

    private func draft(target: String?, outcome: String) -> AuditLog.Draft {
        AuditLog.Draft(merchantID: merchantID, mode: mode, actor: actor, actionText: action, targetID: target, outcome: outcome)
    }
}

extension KeywardStore {
    /// Runs `write` in one transaction together with the current `AuditScope`'s entry, naming `target`:
    /// a change that is not a credential write (those go through `CredentialChanges.commit`) commits with
    /// its entry or not at all. Outside a scope it is a plain transaction.
    func auditedTransaction<T: Sendable>(target: String? = nil, _ write: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        let scope = AuditScope.current
        let (result, entry) = try await transaction { sql in
            let result = try await write(sql)
            return (result, try await scope?.append(target: target, on: sql))
        }
        if let entry { scope?.committed(entry) }
        return result
    }
}
