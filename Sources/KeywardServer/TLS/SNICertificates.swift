import Foundation
import KeywardCore
import Logging
import NIOCore
import NIOSSL
import Synchronization

/// Picks the HTTPS certificate by SNI: the certificate of the sales channel claiming the name, else
/// the default (local-CA) certificate. Lookups are cached per name and the cache is emptied on every
/// credential change (a renewal or upload on any instance), so a new certificate is served on the
/// next handshake without a restart.
final class SNICertificates: Sendable {
    enum Entry: Sendable {
        case serve(NIOSSLContextConfigurationOverride)
        case fallback
    }

    let certificates: CertificateService
    let logger: Logger
    /// The server's own names and the deny list: never served from a channel, whatever the database says.
    let reserved: ReservedDomains
    let cache = Mutex<(generation: UInt64, entries: [String: Entry])>((0, [:]))
    static let maximumEntries = 10_000

    /// The default certificate when it was renewed after start (nil: the listener's configuration stands).
    let fallback: DefaultCertificate?

    init(
        certificates: CertificateService,
        changes: CredentialChanges,
        logger: Logger,
        reserved: ReservedDomains = .none,
        fallback: DefaultCertificate? = nil
    ) {
        self.fallback = fallback
        self.certificates = certificates
        self.logger = logger
        self.reserved = reserved
        changes.subscribe { [weak self] in self?.invalidate() }
    }

    func invalidate() {
        cache.withLock { $0 = ($0.generation &+ 1, [:]) }
    }

    /// The `sslContextCallback` for the HTTPS listener.
    var callback: NIOSSLContextCallback {
        { [self] values, promise in
            guard let name = values.serverHostname?.lowercased(), !name.isEmpty, name.utf8.count <= 253 else {
                promise.succeed(self.fallback?.override ?? .noChanges)
                return
            }
            let (generation, cached) = cache.withLock { ($0.generation, $0.entries[name]) }
            if let cached {
                promise.succeed(self.override(cached))
                return
            }
            Task {
                let entry = await self.lookup(name)
                self.cache.withLock { state in
                    guard state.generation == generation else { return }
                    if state.entries.count >= Self.maximumEntries { state.entries.removeAll() }
                    state.entries[name] = entry
                }
                promise.succeed(self.override(entry))
            }
        }
    }

    func override(_ entry: Entry) -> NIOSSLContextConfigurationOverride {
        if case .serve(let override) = entry { return override }
        return fallback?.override ?? .noChanges
    }

    func lookup(_ name: String) async -> Entry {
        if let host = DomainName.host(name), reserved.reason(for: host) != nil { return .fallback }
        do {
            guard let serving = try await certificates.serving(serverName: name) else { return .fallback }
            var override = NIOSSLContextConfigurationOverride()
            override.certificateChain = try serving.chainPEM.map { .certificate(try NIOSSLCertificate(bytes: Array($0.utf8), format: .pem)) }
            override.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: Array(serving.privateKeyPEM.utf8), format: .pem))
            return .serve(override)
        } catch {
            logger.warning(
                "cannot load the certificate for an SNI name; serving the default",
                metadata: ["server_name": "\(name)", "error_type": "\(type(of: error))"]
            )
            return .fallback
        }
    }
}
