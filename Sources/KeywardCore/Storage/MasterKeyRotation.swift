import Foundation
import KeywardCrypto
import SQLKit

/// Re-seals every sealed secret under a new master key (`keyward master-key rotate`).
///
/// Order of events, each step safe to crash after: write `master.key.next`; announce it through the
/// database (`MasterKeyAnnouncements`: every running instance adopts it for opening, then for sealing
/// once it has settled) and wait until it has; re-seal each row with the next key; re-seal sealed
/// files; promote the next key to primary (atomic renames) and keep the old one as `.previous`;
/// withdraw the announcement. Running it again after a crash resumes with the same next key.
public struct MasterKeyRotation: Sendable {
    let store: KeywardStore
    let files: MasterKeyFiles
    /// Files holding one sealed envelope each (e.g. the local CA key), with their sealing context.
    let sealedFiles: [(path: String, context: String)]

    /// How long to wait after announcing before re-sealing: longer than the instances' settle time
    /// plus their poll interval, so every serving instance can open the new key before it is used.
    let announcementWait: Duration
    let clock: KeywardClock

    public init(
        store: KeywardStore,
        files: MasterKeyFiles,
        sealedFiles: [(path: String, context: String)],
        announcementWait: Duration = MasterKeyAnnouncements.defaultSettle + .seconds(1),
        clock: KeywardClock = .system
    ) {
        self.store = store
        self.files = files
        self.sealedFiles = sealedFiles
        self.announcementWait = announcementWait
        self.clock = clock
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
        let announcements = MasterKeyAnnouncements(store: store, clock: clock)
        try await announcements.announce(next, sealedUnder: current)
        try await Task.sleep(for: announcementWait)
        let combined = try files.load()  // current + next (+ previous): opens anything
        let sealer = MasterKeyring(primary: next, others: [])

        var count = 0
        for column in SealedColumn.all {
            struct Row: Decodable {
                let id: String
                let sealed: String
            }
            let rows = try await store.sql.select().column("id").column(SQLAlias(SQLColumn(column.column), as: SQLIdentifier("sealed")))
                .from(column.table).where(SQLColumn(column.column), .isNot, SQLLiteral.null).all(decoding: Row.self)
            for row in rows where MasterKeyring.keyID(of: row.sealed) != next.id {
                let context = column.context(row.id)
                let resealed = try sealer.seal(try combined.open(row.sealed, context: context), context: context)
                try await Self.retrying {
                    try await store.sql.update(column.table).set(SQLColumn(column.column), to: SQLBind(resealed))
                        .where("id", .equal, row.id).where(SQLColumn(column.column), .equal, SQLBind(row.sealed)).run()
                }
                count += 1
            }
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
        try await announcements.withdraw(next.id)
        return Report(previousKeyID: current.primary.id, newKeyID: next.id, resealedSecrets: count, resealedFiles: fileCount)
    }
}

extension MasterKeyRotation {
    /// Runs `write`, again after a short pause when it fails (a SQLite file locked by a serving
    /// instance's write): the rotation runs next to servers and must not stop halfway for a busy moment.
    static func retrying(_ write: () async throws -> Void) async throws {
        var attempt = 0
        while true {
            attempt += 1
            do { return try await write() } catch  where attempt < 40 {
                try await Task.sleep(for: .milliseconds(50 * min(attempt, 10)))
            }
        }
    }
}

/// Every database column holding a sealed envelope, with the AAD context of each row.
public struct SealedColumn: Sendable {
    public let table: String
    public let column: String
    let context: @Sendable (String) -> String

    /// All of them: master-key rotation re-seals each, and startup checks the key can open each.
    public static let all: [SealedColumn] = [
        SealedColumn(table: "payment_keys", column: "sealed_secret", context: PaymentKeyRow.sealContext(id:)),
        SealedColumn(table: "store_keys", column: "sealed_platform_key", context: StoreKeyRow.sealContext(id:)),
        SealedColumn(table: "store_keys", column: "sealed_private_key", context: StoreKeyRow.privateKeyContext(id:)),
        SealedColumn(table: "signing_keys", column: "sealed_private_key", context: SigningKeyRow.privateKeyContext(id:)),
        SealedColumn(table: "device_sessions", column: "sealed_server_key", context: DeviceSessionRow.sealContext(id:)),
        SealedColumn(table: "certificates", column: "sealed_private_key", context: CertificateRow.sealContext(id:)),
        SealedColumn(table: "acme_accounts", column: "sealed_private_key", context: { "acme_account:\($0)" }),
        SealedColumn(table: "webhook_endpoints", column: "sealed_secret", context: { "webhook:\($0)" }),
        SealedColumn(table: "users", column: "sealed_totp_secret", context: { "totp:\($0)" }),
        SealedColumn(table: "certificate_requests", column: "sealed_private_key", context: ApplePayRequests.sealContext(id:)),
    ]

    /// The master key ids the rows of this column are sealed under.
    public func keyIDs(in store: KeywardStore) async throws -> Set<String> {
        struct Row: Decodable { let key_id: String }
        let rows = try await store.sql.raw(
            "SELECT DISTINCT substr(\(ident: column), 5, 16) AS key_id FROM \(ident: table) WHERE \(ident: column) IS NOT NULL"
        )
        .all(decoding: Row.self)
        return Set(rows.map(\.key_id))
    }
}
