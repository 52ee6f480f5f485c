import Foundation
import KeywardCore
import KeywardCrypto
import Logging

/// A server refused to start because its master key file does not fit the database. Names the key
/// ids the database expects (public: a hash prefix), never key material.
public struct MasterKeyRefused: Error, CustomStringConvertible, Sendable {
    /// `master_key_missing` (no key file, sealed secrets in the database) or `master_key_mismatch`.
    public let code: ErrorCode
    /// The master key ids the database's secrets are sealed under that this process lacks.
    public let expected: [String]
    /// The key file concerned.
    public let file: String
    let message: String

    public var description: String {
        "\(code): the database holds secrets sealed under master key(s) \(expected.joined(separator: ", ")) but \(file) \(message)"
    }
}

/// Loading the master keyring at start.
enum MasterKeyStartup {
    /// Loads the key files, creating a first key only when the database holds no sealed secret.
    static func loadKeyring(settings: Settings, store: KeywardStore, logger: Logger) async throws -> MasterKeyring {
        let files = MasterKeyFiles(path: settings.effectiveMasterKeyFile)
        if !files.exists {
            let sealedUnder = try await sealedKeyIDs(store)
            guard sealedUnder.isEmpty else {
                throw MasterKeyRefused(
                    code: .masterKeyMissing,
                    expected: sealedUnder.sorted(),
                    file: files.path,
                    message: "does not exist; restore that key file (a new key cannot open them), or point KEYWARD_MASTER_KEY_FILE at it"
                )
            }
            let key = try files.create()
            let banner = """

                ************************************************************************
                * WARNING: created a NEW master key at \(files.path)
                * (id \(key.id)). Every sealed secret depends on it: back it up, keep it
                * off shared disks, and give every instance the same file. Losing it
                * loses every payment key and private key stored in this database.
                ************************************************************************

                """
            FileHandle.standardError.write(Data(banner.utf8))
            logger.warning("created a new master key", metadata: ["master_key_id": "\(key.id)", "path": "\(files.path)"])
        }
        return try files.load()
    }

    /// Every master key id the database's sealed columns name.
    static func sealedKeyIDs(_ store: KeywardStore) async throws -> Set<String> {
        var ids = Set<String>()
        for column in SealedColumn.all { ids.formUnion(try await column.keyIDs(in: store)) }
        return ids
    }
}
