import Foundation
import KeywardCrypto
import SQLKit

/// Re-seals every sealed secret under a new master key (`keyward master-key rotate`).
///
/// Order of events, each step safe to crash after: write `master.key.next`; re-seal each row with the
/// next key (readers keep working, they load every key file); re-seal sealed files; promote the next
/// key to primary and keep the old one as `.previous`. Running it again after a crash resumes with the
/// same next key.
public struct MasterKeyRotation: Sendable {
    let store: KeywardStore
    let files: MasterKeyFiles
    /// Files holding one sealed envelope each (e.g. the local CA key), with their sealing context.
    let sealedFiles: [(path: String, context: String)]

    public init(store: KeywardStore, files: MasterKeyFiles, sealedFiles: [(path: String, context: String)]) {
        self.store = store
        self.files = files
        self.sealedFiles = sealedFiles
    }

    /// Outcome of a rotation.
    public struct Report: Sendable, Codable {
        public let previousKeyID: String
        public let newKeyID: String
        public let resealedSecrets: Int
        public let resealedFiles: Int
    }

    /// Runs the rotation.
    public func run() async throws -> Report {
        let current = try files.load()
        let next: MasterKey
        if let pending = try files.readNext() {
            next = pending
        } else {
            next = MasterKey.generate()
            try files.writeNext(next)
        }
        let combined = try files.load()  // current + next (+ previous): opens anything
        let sealer = MasterKeyring(primary: next, others: [])

        struct Row: Decodable { let id: String; let sealed_secret: String }
        let rows = try await store.sql.select().column("id").column("sealed_secret").from("payment_keys")
            .all(decoding: Row.self)
        var count = 0
        for row in rows where MasterKeyring.keyID(of: row.sealed_secret) != next.id {
            let context = PaymentKeyRow.sealContext(id: row.id)
            let plaintext = try combined.open(row.sealed_secret, context: context)
            let resealed = try sealer.seal(plaintext, context: context)
            try await store.sql.update("payment_keys").set("sealed_secret", to: resealed)
                .where("id", .equal, row.id).where("sealed_secret", .equal, row.sealed_secret).run()
            count += 1
        }
        var fileCount = 0
        for file in sealedFiles where FileManager.default.fileExists(atPath: file.path) {
            let envelope = try String(contentsOfFile: file.path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            guard MasterKeyring.keyID(of: envelope) != next.id else { continue }
            let resealed = try sealer.seal(try combined.open(envelope, context: file.context), context: file.context)
            let temporary = file.path + ".tmp"
            try Data(resealed.utf8).write(to: URL(fileURLWithPath: temporary), options: .atomic)
            _ = chmod(temporary, 0o600)
            _ = rename(temporary, file.path)
            fileCount += 1
        }
        try files.promoteNext()
        return Report(previousKeyID: current.primary.id, newKeyID: next.id, resealedSecrets: count, resealedFiles: fileCount)
    }
}
