import Foundation
import KeywardCore
import KeywardServer
import Testing

/// Upgrading a database whose channels predate verification.
@Suite(.closesStores) struct DomainVerificationUpgradeTests {
    @Test func existingChannelsKeepTheirClaimsButServeOnlyOnceVerified() async throws {
        let settings = try Harness.isolatedSettings()
        try FileManager.default.createDirectory(atPath: settings.dataDirectory, withIntermediateDirectories: true)
        let old = try KeywardStore(databaseURL: settings.databaseURL, sqlitePath: settings.sqlitePath, logger: Harness.logger)
        try await old.migrate(through: "v11_merchant_settings")
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        try await old.sql.raw(
            "INSERT INTO merchants (id, name, mid, created_ms, updated_ms) VALUES ('mch_0000000000000000000001', 'Old', 'MID-OLD', \(bind: now), \(bind: now))"
        ).run()
        for (id, mode, domain) in [
            ("chn_0000000000000000000001", "managed", "old.example"), ("chn_0000000000000000000002", "uploaded", "up.example"),
        ] {
            try await old.sql.raw(
                """
                INSERT INTO sales_channels (id, merchant_id, mode, name, domains, ssl_mode, certificate_id, status, status_detail, failures, next_attempt_ms, renew_at_ms, created_ms, updated_ms)
                VALUES (\(bind: id), 'mch_0000000000000000000001', 'live', 'Old', \(bind: "[\"\(domain)\"]"), \(bind: mode), NULL, 'active', 'Serving.', 0, \(bind: mode == "managed" ? now : nil), NULL, \(bind: now), \(bind: now))
                """
            ).run()
            try await old.sql.raw(
                "INSERT INTO channel_domains (domain, channel_id, merchant_id) VALUES (\(bind: domain), \(bind: id), 'mch_0000000000000000000001')"
            ).run()
        }
        await old.shutdown()

        let services = try await Harness.services(settings)
        for id in ["chn_0000000000000000000001", "chn_0000000000000000000002"] {
            let channel = try await services.channels.get(merchantID: nil, mode: nil, id: id)
            #expect(channel.status == "pending" && channel.nextAttempt == nil, "\(channel)")
            let record = try #require(
                try await services.domainVerifications.records(merchantID: "mch_0000000000000000000001", domains: channel.domains).first
            )
            #expect(record.status == .pending && record.nextCheckAt != nil && record.token.hasPrefix("kwv_"))
        }
        // The claim is kept (its merchant cannot claim it twice) and no longer blocks another merchant.
        await #expect {
            _ = try await services.channels.create(
                merchantID: "mch_0000000000000000000001",
                mode: .test,
                name: "x",
                domains: ["old.example"],
                sslMode: .managed,
                certificateID: nil
            )
        } throws: { ($0 as? KeywardError)?.code.rawValue == "domain_taken" }
        let other = try await Harness.tenant(services)
        _ = try await services.channels.create(
            merchantID: other.merchant.id,
            mode: .live,
            name: "y",
            domains: ["old.example"],
            sslMode: .managed,
            certificateID: nil
        )
        // Vouched for by the operator, the old channel is ordered again.
        _ = try await services.domainVerifications.force(channelID: "chn_0000000000000000000001", actor: AuditActor(type: "operator", id: "test"))
        #expect(try await services.channels.get(merchantID: nil, mode: nil, id: "chn_0000000000000000000001").nextAttempt != nil)
    }
}
