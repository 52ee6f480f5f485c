import Foundation
import KeywardCore
import KeywardCrypto
import KeywardServer
import Testing

/// Keyed checkpoints anchor the audit chain, so deleting its newest entries (which leaves the hashes of
/// the rest linked) or rebuilding it without the master key is reported by `verify`.
@Suite(.closesStores) struct AuditCheckpointTests {
    static func services() async throws -> KeywardServices {
        try await Harness.services(try Harness.isolatedSettings { $0.auditCheckpointInterval = 5 })
    }

    static func record(_ services: KeywardServices, _ count: Int) async throws {
        for index in 0..<count {
            try await services.audit.record(merchantID: nil, actor: .system, action: AuditAction(rawValue: "test.\(index)"), targetID: nil)
        }
    }

    /// Attack: delete the newest entries (here 9 to 12) straight in the database. The chain that is left
    /// links perfectly; the checkpoint at 10 still names an entry that is gone.
    @Test func deletingTheNewestEntriesIsReported() async throws {
        let services = try await Self.services()
        try await Self.record(services, 12)
        #expect(try await services.audit.verify().firstProblem == nil)
        #expect(try await services.audit.checkpoints().map(\.seq) == [5, 10])
        try await services.store.sql.raw("DELETE FROM audit_log WHERE seq > 8").run()
        let result = try await services.audit.verify()
        #expect(result.firstProblem?.seq == 9, "reported: \(String(describing: result.firstProblem))")
        #expect(result.firstProblem?.reason.contains("deleted") == true)
        await services.store.shutdown()
    }

    /// Attack: delete the newest entries and the checkpoints that name them. The database alone cannot
    /// tell; a checkpoint export kept elsewhere can.
    @Test func deletingEntriesAndTheirCheckpointsIsCaughtByAnExport() async throws {
        let services = try await Self.services()
        try await Self.record(services, 11)
        let exported = try await services.audit.checkpoints()
        try await services.store.sql.raw("DELETE FROM audit_log WHERE seq > 7").run()
        try await services.store.sql.raw("DELETE FROM audit_checkpoints WHERE seq > 7").run()
        #expect(try await services.audit.verify().firstProblem == nil, "undetectable from the database alone")
        let result = try await services.audit.verify(anchors: exported)
        #expect(result.firstProblem?.seq == 8)
        await services.store.shutdown()
    }

    /// Attack: whoever rewrites the chain (its SHA-256 links need no key) must forge checkpoints to
    /// match: a checkpoint passed in or edited in the database without the master key is reported.
    @Test func aForgedOrAlteredCheckpointIsReported() async throws {
        let services = try await Self.services()
        try await Self.record(services, 6)
        // A forged checkpoint: right shape, MAC made with another key.
        let forged = AuditCheckpoint(
            seq: 5,
            hash: String(repeating: "a", count: 64),
            key_id: services.keyring.primary.id,
            mac: String(repeating: "0", count: 64),
            at_ms: 0
        )
        let result = try await services.audit.verify(anchors: [forged])
        #expect(result.firstProblem?.reason.contains("MAC") == true)
        // The database's checkpoint at 5 edited to name another hash.
        try await services.store.sql.raw("UPDATE audit_checkpoints SET hash = \(bind: String(repeating: "b", count: 64)) WHERE seq = 5").run()
        #expect(try await services.audit.verify().firstProblem?.reason.contains("MAC") == true)
        await services.store.shutdown()
    }
}
