import Foundation
import Hummingbird
import HummingbirdTesting
import KeywardCore
import KeywardCrypto
import KeywardServer
import Synchronization
import Testing

/// Master keys while serving: a start with the wrong (or no) key is refused, and a rotation reaches
/// every running instance through the database.
@Suite(.closesStores) struct MasterKeyOnlineTests {
    /// Attack: an operator (or a deploy script) starts an instance with another host's key, or with the
    /// key file missing. The old code created a fresh key for the missing file (a second key on disk
    /// that opens nothing), the new one refuses both with a code and the expected key id.
    @Test func aStartWithAnotherOrNoMasterKeyIsRefused() async throws {
        let settings = try Harness.isolatedSettings()
        let services = try await Harness.services(settings)
        let tenant = try await Harness.tenant(services)
        _ = try await services.paymentKeys.create(merchantID: tenant.merchant.id, mode: .test, label: "shop", by: .platformOperator)
        let keyA = services.keyring.primary
        await services.store.shutdown()
        let file = settings.effectiveMasterKeyFile
        let bytesA = try #require(FileManager.default.contents(atPath: file))
        defer { try? bytesA.write(to: URL(fileURLWithPath: file)) }  // the shared key file of this database

        // Key B in the file.
        let keyB = MasterKey.generate()
        try Data(keyB.rawBytes).write(to: URL(fileURLWithPath: file))
        await #expect { try await KeywardServices.open(settings: settings, logger: Harness.logger) } throws: { error in
            guard let refused = error as? MasterKeyRefused else { return false }
            let text = String(describing: refused)
            return refused.code.rawValue == "master_key_mismatch" && refused.expected == [keyA.id] && text.contains(keyA.id)
                && !text.contains(Hex.encode(keyA.rawBytes)) && !text.contains(Hex.encode(keyB.rawBytes))
        }

        // No key file at all: refused, and no new key file appears.
        try FileManager.default.removeItem(atPath: file)
        await #expect { try await KeywardServices.open(settings: settings, logger: Harness.logger) } throws: { error in
            (error as? MasterKeyRefused)?.code.rawValue == "master_key_missing" && (error as? MasterKeyRefused)?.expected == [keyA.id]
        }
        #expect(!FileManager.default.fileExists(atPath: file), "a refused start must not create a key")

        // With key A back it starts and opens what it sealed.
        try bytesA.write(to: URL(fileURLWithPath: file))
        let reopened = try await Harness.services(settings)
        #expect(reopened.keyring.primary.id == keyA.id)
        _ = try await reopened.paymentKeys.orderHash(
            merchantID: tenant.merchant.id,
            mode: .test,
            paymentKeyID: nil,
            orderID: "1",
            amount: "1",
            currency: "EGP"
        )
        await reopened.store.shutdown()
    }

    /// An empty database still gets a master key on first start, as before.
    @Test func anEmptyDatabaseCreatesAKeyOnFirstStart() async throws {
        let settings = try Harness.isolatedSettings { $0.masterKeyFile = nil }
        let file = settings.dataDirectory + "/master.key"
        var fresh = settings
        fresh.masterKeyFile = file
        #expect(!FileManager.default.fileExists(atPath: file))
        let services = try await Harness.services(fresh)
        #expect(FileManager.default.fileExists(atPath: file))
        await services.store.shutdown()
    }

    /// An instance that has not seen the announcement cannot open what another sealed under the new
    /// key; once it has polled the announcement it can. A key the instance does not hold can never
    /// unwrap the announcement (an attacker's key file learns nothing from the database).
    @Test func anAnnouncedKeyOpensOnAnInstanceThatPickedItUp() async throws {
        let settings = try Harness.isolatedSettings()
        let writer = try await Harness.services(settings)
        let reader = try await Harness.services(settings)
        let tenant = try await Harness.tenant(writer)
        let old = writer.keyring.primary
        let next = MasterKey.generate()
        let announcements = MasterKeyAnnouncements(store: writer.store)
        try await announcements.announce(next, sealedUnder: writer.keyring)
        // The writer adopts at once (settle 0) and seals under the new key.
        try await announcements.adopt(into: writer.keyring, settle: .zero)
        #expect(writer.keyring.primary.id == next.id)
        let created = try await writer.paymentKeys.create(merchantID: tenant.merchant.id, mode: .test, label: "after", by: .platformOperator)
        await #expect(throws: SealingError.self) {
            _ = try await reader.paymentKeys.orderHash(
                merchantID: tenant.merchant.id,
                mode: .test,
                paymentKeyID: created.info.id,
                orderID: "1",
                amount: "1",
                currency: "EGP"
            )
        }
        // Not yet settled for the reader: it opens with the new key but still seals with the old one.
        let pending = try await MasterKeyAnnouncements(store: reader.store).adopt(into: reader.keyring, settle: .seconds(3600))
        #expect(pending)
        #expect(reader.keyring.primary.id == old.id)
        let opened = try await reader.paymentKeys.orderHash(
            merchantID: tenant.merchant.id,
            mode: .test,
            paymentKeyID: created.info.id,
            orderID: "1",
            amount: "1",
            currency: "EGP"
        )
        #expect(opened.paymentKeyID == created.info.id)

        let stranger = MasterKeyring(primary: MasterKey.generate())
        try await MasterKeyAnnouncements(store: reader.store).adopt(into: stranger, settle: .zero)
        #expect(!stranger.knows(next.id))
        try await announcements.withdraw(next.id)
        await writer.store.shutdown()
        await reader.store.shutdown()
    }

    /// Two instances serve while `keyward master-key rotate` runs against the same database: payment keys
    /// and kept signing keys are created and used through both, before, during and after; every call
    /// answers, secrets sealed before still open, and both instances end up sealing under the new key
    /// (the old code kept sealing under the old key and answered 500 for every re-sealed secret).
    @Test func rotationWhileTwoInstancesServe() async throws {
        let settings = try Harness.isolatedSettings()
        let cli = try await Harness.services(settings)
        let tenant = try await Harness.tenant(cli)
        let oldID = cli.keyring.primary.id
        let key = tenant.testKey.secret
        let instanceA = try await Harness.app(settings)
        let instanceB = try await Harness.app(settings)
        let failures = Mutex<[String]>([])
        let created = Mutex<[String]>([])
        _ = try await instanceA.test(.router) { a in
            _ = try await instanceB.test(.router) { b in
                let clients: [any TestClientProtocol] = [a, b]
                @Sendable func exercise(_ client: any TestClientProtocol, _ tag: String) async throws {
                    let made = try await client.call(.post, "/v1/manage/payment-keys", key: key, json: #"{"label":"\#(tag)"}"#)
                    guard made.status == .created, let id = made.json["id"] as? String else {
                        failures.withLock { $0.append("create \(tag): \(made.status) \(made.text.prefix(200))") }
                        return
                    }
                    created.withLock { $0.append(id) }
                    for other in clients {
                        let hashed = try await other.call(
                            .post,
                            "/v1/manage/order-hash",
                            key: key,
                            json: #"{"payment_key_id":"\#(id)","order_id":"1","amount":"1","currency":"EGP"}"#
                        )
                        if hashed.status != .ok { failures.withLock { $0.append("hash \(tag): \(hashed.status) \(hashed.text.prefix(200))") } }
                    }
                    let signing = try await client.call(
                        .post,
                        "/v1/manage/signing-keys/generate",
                        key: key,
                        json: #"{"name":"\#(tag)","algorithm":"ec-p256","keep_private_key":true}"#
                    )
                    guard signing.status == .created, let signingID = signing.json["id"] as? String else {
                        failures.withLock { $0.append("signing \(tag): \(signing.status) \(signing.text.prefix(200))") }
                        return
                    }
                    for other in clients {
                        let exported = try await other.call(.post, "/v1/manage/signing-keys/\(signingID)/private-key", key: key, json: "{}")
                        if exported.status != .ok {
                            failures.withLock { $0.append("export \(tag): \(exported.status) \(exported.text.prefix(200))") }
                        }
                    }
                }
                try await exercise(a, "before-a")
                try await exercise(b, "before-b")
                let finished = Mutex(false)
                let rotation = Task {
                    defer { finished.withLock { $0 = true } }
                    return try await rotateMasterKey(cli, announcementWait: .seconds(3))
                }
                var round = 0
                while !finished.withLock({ $0 }) && round < 400 {
                    round += 1
                    try await exercise(round % 2 == 0 ? a : b, "during-\(round)")
                    try await Task.sleep(for: .milliseconds(50))
                }
                let report = try await rotation.value
                #expect(report.previousKeyID == oldID)
                // Every instance seals under the new key without a restart.
                try await exercise(a, "after-a")
                try await exercise(b, "after-b")
                let afterIDs = created.withLock { Array($0.suffix(2)) }
                struct Row: Decodable { let sealed_secret: String }
                for id in afterIDs {
                    let row = try await cli.store.sql.raw("SELECT sealed_secret FROM payment_keys WHERE id = \(bind: id)").first(decoding: Row.self)
                    #expect(row.map { MasterKeyring.keyID(of: $0.sealed_secret) } == report.newKeyID, "sealed after the rotation under the new key")
                }
                // Secrets sealed before (re-sealed by the rotation) still open through both.
                for id in created.withLock({ Array($0.prefix(2)) }) {
                    for client in clients {
                        try await client.call(
                            .post,
                            "/v1/manage/order-hash",
                            key: key,
                            json: #"{"payment_key_id":"\#(id)","order_id":"2","amount":"1","currency":"EGP"}"#
                        ) { #expect($0.status == .ok) }
                    }
                }
            }
        }
        #expect(failures.withLock { $0 } == [], "calls that failed around the rotation")
        #expect(created.withLock { $0.count } >= 4)
        // The key file was swapped: the new key is primary on disk, the old one kept as .previous.
        let files = MasterKeyFiles(path: settings.effectiveMasterKeyFile)
        #expect(try files.load().primary.id != oldID)
        #expect(try files.readNext() == nil)
        #expect(FileManager.default.fileExists(atPath: files.previousPath))
        await cli.store.shutdown()
    }
}
