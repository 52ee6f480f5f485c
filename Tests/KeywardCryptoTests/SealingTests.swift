import Foundation
import KeywardCrypto
import Testing

@Suite struct SealingTests {
    @Test func sealOpenRoundTripBindsContext() throws {
        let ring = MasterKeyring(primary: .generate())
        let envelope = try ring.seal(string: "payment-secret", context: "payment_key:pyk_1")
        #expect(envelope.hasPrefix("kw1.\(ring.primary.id)."))
        #expect(!envelope.contains("payment-secret"))
        #expect(try ring.openString(envelope, context: "payment_key:pyk_1") == "payment-secret")
        // The same envelope copied to another row does not open.
        #expect(throws: SealingError.self) { try ring.open(envelope, context: "payment_key:pyk_2") }
    }

    @Test func tamperedOrForeignEnvelopesFail() throws {
        let ring = MasterKeyring(primary: .generate())
        let envelope = try ring.seal(string: "x", context: "c")
        var bytes = Array(envelope)
        bytes[bytes.count - 3] = bytes[bytes.count - 3] == "A" ? "B" : "A"
        #expect(throws: SealingError.self) { try ring.open(String(bytes), context: "c") }
        let other = MasterKeyring(primary: .generate())
        do {
            _ = try other.open(envelope, context: "c")
            Issue.record("a foreign key opened the envelope")
        } catch {
            #expect(error.code == .unknownMasterKey)
        }
        #expect(throws: SealingError.self) { try ring.open("not-an-envelope", context: "c") }
    }

    @Test func aRingWithTheOldKeyOpensAfterRotation() throws {
        let old = MasterKey.generate()
        let envelope = try MasterKeyring(primary: old).seal(string: "s", context: "c")
        let rotated = MasterKeyring(primary: .generate(), others: [old])
        #expect(try rotated.openString(envelope, context: "c") == "s")
        #expect(try rotated.seal(string: "s", context: "c").hasPrefix("kw1.\(rotated.primary.id)."))
    }

    @Test func keyFilesAreCreatedPrivateAndNeverOverwritten() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kw-\(UUID().uuidString)").path
        let files = MasterKeyFiles(path: directory + "/master.key")
        let key = try files.create()
        let attributes = try FileManager.default.attributesOfItem(atPath: files.path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        #expect(FileManager.default.contents(atPath: files.path)?.count == 32)
        #expect(throws: (any Error).self) { try files.create() }
        #expect(try files.load().primary.id == key.id)

        let next = MasterKey.generate()
        try files.writeNext(next)
        #expect(Set(try files.load().keyIDs) == [key.id, next.id])
        try files.promoteNext()
        let ring = try files.load()
        #expect(ring.primary.id == next.id)
        #expect(ring.keyIDs.contains(key.id))
    }

    @Test func aShortKeyFileIsRefusedWithItsPath() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("kw-short-\(UUID().uuidString)").path
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: path))
        #expect { try MasterKeyFiles(path: path).load() } throws: { error in
            String(describing: error).contains(path) && String(describing: error).contains("32 bytes")
        }
    }
}
