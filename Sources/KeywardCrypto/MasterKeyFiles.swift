import Foundation

/// Where master keys live on disk and how a rotation moves them.
///
/// `path` holds the primary key (32 raw bytes, mode 0600). During `keyward master-key rotate` the new key
/// is written to `path.next` first; when every secret is re-sealed the old key moves to `path.previous`
/// and the new one to `path`. Loading always reads all three, so a crash mid-rotation, or a server that
/// keeps running while the CLI rotates, can still open every envelope.
public struct MasterKeyFiles: Sendable {
    /// The primary key file.
    public let path: String
    /// The next key, present only while a rotation is under way.
    public var nextPath: String { path + ".next" }
    /// The key retired by the last rotation, kept so old backups can still be opened.
    public var previousPath: String { path + ".previous" }

    /// Key files rooted at `path`.
    public init(path: String) { self.path = path }

    /// Whether the primary key file exists.
    public var exists: Bool { FileManager.default.fileExists(atPath: path) }

    /// Loads the keyring. A `.next` key left by an interrupted rotation opens but does not seal.
    public func load() throws -> MasterKeyring {
        let primary = try read(path)
        let others = try [nextPath, previousPath].compactMap { candidate in
            FileManager.default.fileExists(atPath: candidate) ? try read(candidate) : nil
        }
        return MasterKeyring(primary: primary, others: others)
    }

    /// Creates the primary key file with a fresh key. Fails if it exists.
    public func create() throws -> MasterKey {
        let key = MasterKey.generate()
        try write(key, to: path)
        return key
    }

    /// Writes `key` as the pending next key.
    public func writeNext(_ key: MasterKey) throws { try write(key, to: nextPath) }

    /// Makes the pending next key primary and keeps the old primary as `.previous`.
    ///
    /// Each step is atomic and the primary path never goes missing: the old primary is copied to
    /// `.previous` (temp file, fsync, rename), then `.next` is renamed over the primary (rename
    /// replaces atomically), then the directory is fsynced so both renames survive a crash. A
    /// crash between the steps leaves a state `load()` still reads and a re-run completes.
    public func promoteNext() throws {
        guard let next = try readNext() else { return }
        let current = try read(path)
        if current.id != next.id {
            try writeReplacing(current, to: previousPath)
        }
        guard rename(nextPath, path) == 0 else {
            throw KeyFileError(path: path, reason: "cannot be replaced (\(String(cString: strerror(errno))))")
        }
        syncDirectory(of: path)
    }

    /// Writes `key` to a temporary file next to `file`, fsyncs it and renames it over `file`.
    private func writeReplacing(_ key: MasterKey, to file: String) throws {
        let temporary = file + ".tmp"
        if FileManager.default.fileExists(atPath: temporary) { try FileManager.default.removeItem(atPath: temporary) }
        try write(key, to: temporary)
        guard rename(temporary, file) == 0 else {
            throw KeyFileError(path: file, reason: "cannot be replaced (\(String(cString: strerror(errno))))")
        }
    }

    private func syncDirectory(of file: String) {
        let directory = (file as NSString).deletingLastPathComponent
        let fd = open(directory.isEmpty ? "." : directory, O_RDONLY)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        close(fd)
    }

    /// Reads the pending next key, if a rotation is under way.
    public func readNext() throws -> MasterKey? {
        FileManager.default.fileExists(atPath: nextPath) ? try read(nextPath) : nil
    }

    private func read(_ file: String) throws -> MasterKey {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw KeyFileError(path: file, reason: "cannot be read")
        }
        do {
            return try MasterKey(bytes: Array(data))
        } catch {
            throw KeyFileError(path: file, reason: "must hold exactly 32 bytes, has \(data.count)")
        }
    }

    private func write(_ key: MasterKey, to file: String) throws {
        let directory = (file as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(
                atPath: directory,
                withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700]
            )
        }
        // O_EXCL: never overwrite an existing key; 0600 from the first byte, no window where it is readable.
        let fd = open(file, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { throw KeyFileError(path: file, reason: "cannot be created (\(String(cString: strerror(errno))))") }
        defer { close(fd) }
        let bytes = key.rawBytes
        let written = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count, fsync(fd) == 0 else { throw KeyFileError(path: file, reason: "write failed") }
    }
}

/// A key file problem; names the file, never its content.
public struct KeyFileError: Error, CustomStringConvertible, Sendable {
    /// The file concerned.
    public let path: String
    /// What is wrong with it.
    public let reason: String
    public var description: String { "master key file \(path) \(reason)" }
}
