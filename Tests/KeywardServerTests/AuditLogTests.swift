import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KeywardCore
import KeywardServer
import KeywardTestSupport
import Testing

/// The audit log: management changes recorded by whom, from where, with what outcome; the hash chain
/// catches any edited or deleted row; concurrent writers keep one chain.
@Suite(.closesStores) struct AuditLogTests {
    @Test func managementChangesAreRecordedWithTheKeyAndOutcomeButNeverABody() async throws {
        let settings = try Harness.isolatedSettings()
        let services = try await Harness.services(settings)
        let tenant = try await Harness.tenant(services)
        let app = try await Harness.app(settings)
        let secret = tenant.testKey.secret
        _ = try await app.test(.router) { client in
            let created = try await client.call(.post, "/v1/manage/keys", key: secret, json: #"{"name": "checkout"}"#)
            let newKey = try #require(created.json["id"] as? String)
            #expect(created.headers[HTTPField.Name("Keyward-Object-Id")!] == newKey)
            try await client.call(.post, "/v1/manage/keys/\(newKey)/revoke", key: secret) { #expect($0.status == .ok) }
            try await client.call(.post, "/v1/manage/keys", key: secret, json: #"{"nmae": "typo"}"#) {
                $0.expectProblem(.badRequest, "unknown_field")
            }
            try await client.call(.get, "/v1/manage/keys", key: secret)

            let list = try await client.call(.get, "/v1/manage/audit", key: secret)
            let entries = try #require(list.json["data"] as? [[String: Any]])
            #expect(
                entries.map { $0["action"] as? String ?? "" }
                    == [
                        "secret_key.create", "secret_key.revoke", "secret_key.create",
                    ].reversed(),
                "reads are not recorded; newest first"
            )
            #expect(entries.map { $0["outcome"] as? String ?? "" } == ["unknown_field", "ok", "ok"])
            #expect(entries.allSatisfy { $0["actor_type"] as? String == "key" && $0["actor_id"] as? String == tenant.testKey.info.id })
            #expect(entries[1]["target_id"] as? String == newKey && entries[2]["target_id"] as? String == newKey)
            #expect((entries[0]["at"] as? String)?.contains("T") == true)
            #expect(!list.text.contains(secret) && !list.text.contains("checkout"), "no secret and no body in the log")

            // Another merchant sees none of it; the export is JSON lines.
            let other = try await Harness.tenant(services)
            try await client.call(.get, "/v1/manage/audit", key: other.testKey.secret) { #expect(($0.json["data"] as? [Any])?.isEmpty == true) }
            let export = try await client.call(.get, "/v1/manage/audit/export", key: secret)
            #expect(export.headers[.contentType] == "application/x-ndjson")
            #expect(export.text.split(separator: "\n").count == 3)
        }
        let verification = try await services.audit.verify()
        #expect(verification.entries == 3 && verification.firstProblem == nil)
    }

    @Test func theChainCatchesEditedAndDeletedEntriesAndSurvivesConcurrentWriters() async throws {
        let settings = try Harness.isolatedSettings()
        let services = try await Harness.services(settings)
        let tenant = try await Harness.tenant(services)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<20 {
                group.addTask {
                    try await services.audit.record(
                        merchantID: tenant.merchant.id,
                        actor: AuditActor(type: "operator", id: "cli", address: nil),
                        action: AuditAction(rawValue: "test.action.\(index)"),
                        targetID: nil
                    )
                }
            }
            try await group.waitForAll()
        }
        #expect(try await services.audit.verify().entries == 20)
        #expect(try await services.audit.verify().firstProblem == nil)

        // Edit one entry: found at that entry.
        try await services.store.sql.raw("UPDATE audit_log SET outcome = 'forged' WHERE seq = 7").run()
        var result = try await services.audit.verify()
        #expect(result.firstProblem?.seq == 7 && result.firstProblem?.reason.contains("edited") == true)
        // Recomputing its hash to hide the edit breaks the link from the next one.
        let row = try #require(try await services.audit.list(merchantID: nil, before: 8, limit: 1).first)
        #expect(row.seq == 7)
        try await services.store.sql.raw("UPDATE audit_log SET outcome = 'ok' WHERE seq = 7").run()
        #expect(try await services.audit.verify().firstProblem == nil)
        // Delete one: found as missing.
        try await services.store.sql.raw("DELETE FROM audit_log WHERE seq = 12").run()
        result = try await services.audit.verify()
        #expect(result.firstProblem?.seq == 12 && result.firstProblem?.reason.contains("missing") == true)
        #expect(result.entries == 11)
    }
}
