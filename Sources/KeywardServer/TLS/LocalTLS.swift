import Foundation
import KeywardCore
import KeywardCrypto
import Logging
import NIOSSL

/// The embedded default's HTTPS: the local CA under the data directory (created on first start, its
/// key sealed under the master key) and a fresh leaf certificate for this start.
struct LocalTLS {
    /// Where the CA certificate is written; printed at start for `curl --cacert`.
    let caCertificatePath: String
    let caKeyPath: String
    static let caKeyContext = "local_ca_key"

    init(dataDirectory: String) {
        caCertificatePath = dataDirectory + "/ca.pem"
        caKeyPath = dataDirectory + "/ca.key.sealed"
    }

    /// Loads or creates the CA and issues the default certificate for `hostnames`, renewable while serving.
    func defaultCertificate(hostnames: [String], keyring: MasterKeyring, clock: KeywardClock, logger: Logger) throws -> DefaultCertificate {
        let authority = try loadOrCreate(keyring: keyring, logger: logger)
        let names = ["localhost", "127.0.0.1", "::1"] + hostnames.filter { !["localhost", "127.0.0.1", "::1"].contains($0) }
        return try DefaultCertificate(authority: authority, hostnames: names, clock: clock)
    }

    func loadOrCreate(keyring: MasterKeyring, logger: Logger) throws -> LocalCertificateAuthority {
        let manager = FileManager.default
        if manager.fileExists(atPath: caCertificatePath), manager.fileExists(atPath: caKeyPath) {
            let certificatePEM = try String(contentsOfFile: caCertificatePath, encoding: .utf8)
            let sealed = try String(contentsOfFile: caKeyPath, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            let keyPEM = try keyring.openString(sealed, context: Self.caKeyContext)
            return try LocalCertificateAuthority(certificatePEM: certificatePEM, privateKeyPEM: keyPEM)
        }
        let directory = (caKeyPath as NSString).deletingLastPathComponent
        try manager.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let authority = try LocalCertificateAuthority.create()
        let sealed = try keyring.seal(string: authority.privateKeyPEM, context: Self.caKeyContext)
        try Data(sealed.utf8).write(to: URL(fileURLWithPath: caKeyPath), options: .atomic)
        _ = chmod(caKeyPath, 0o600)
        try Data(try authority.certificatePEM.utf8).write(to: URL(fileURLWithPath: caCertificatePath), options: .atomic)
        logger.notice("created a local certificate authority; trust it with: curl --cacert \(caCertificatePath)")
        return authority
    }
}
