import Foundation
import KeywardCore
import KeywardCrypto
import Logging
import NIOSSL
import ServiceLifecycle
import Synchronization

/// The local CA's HTTPS certificate (the default for names no channel claims), renewed while serving.
///
/// The listener's TLS configuration holds the certificate issued at start. After a renewal, every
/// handshake that gets the default certificate gets the renewed one through the SNI callback's
/// override (`override`), so a server that runs past the first certificate's lifetime keeps serving
/// a valid one without a restart.
final class DefaultCertificate: Sendable {
    /// A certificate is renewed once two thirds of its lifetime have passed (as managed channels are).
    static let renewalFraction = 2.0 / 3.0

    struct Current: Sendable {
        let notBefore: Date
        let notAfter: Date
        /// Nil for the certificate in the listener's configuration (nothing to override).
        let override: NIOSSLContextConfigurationOverride?
    }

    let authority: LocalCertificateAuthority
    let hostnames: [String]
    let days: Int
    let clock: KeywardClock
    let first: IssuedCertificate
    private let current: Mutex<Current>

    init(authority: LocalCertificateAuthority, hostnames: [String], days: Int = 90, clock: KeywardClock) throws {
        self.authority = authority
        self.hostnames = hostnames
        self.days = days
        self.clock = clock
        let issued = try authority.issueServerCertificate(hostnames: hostnames, days: days, now: clock.now())
        self.first = issued
        self.current = Mutex(Current(notBefore: issued.certificate.notValidBefore, notAfter: issued.certificate.notValidAfter, override: nil))
    }

    /// The listener's TLS configuration with the first certificate.
    func serverConfiguration() throws -> TLSConfiguration {
        let certificate = try NIOSSLCertificate(bytes: try first.certificateDER, format: .der)
        let key = try NIOSSLPrivateKey(bytes: Array(first.privateKeyPEM.utf8), format: .pem)
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: [.certificate(certificate)], privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        return configuration
    }

    /// What a handshake served the default certificate should use: `.noChanges` until the first renewal.
    var override: NIOSSLContextConfigurationOverride {
        current.withLock { $0.override } ?? .noChanges
    }

    /// When the current certificate is due for renewal.
    var renewalDue: Date {
        current.withLock { $0.notBefore.addingTimeInterval($0.notAfter.timeIntervalSince($0.notBefore) * Self.renewalFraction) }
    }

    /// Issues a new certificate when the current one is due. Returns whether it did.
    @discardableResult
    func renewIfDue() throws -> Bool {
        let now = clock.now()
        guard now >= renewalDue else { return false }
        let issued = try authority.issueServerCertificate(hostnames: hostnames, days: days, now: now)
        var override = NIOSSLContextConfigurationOverride()
        override.certificateChain = [.certificate(try NIOSSLCertificate(bytes: try issued.certificateDER, format: .der))]
        override.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: Array(issued.privateKeyPEM.utf8), format: .pem))
        current.withLock {
            $0 = Current(notBefore: issued.certificate.notValidBefore, notAfter: issued.certificate.notValidAfter, override: override)
        }
        return true
    }
}

/// Background service: checks every `interval` whether the default certificate is due and renews it.
struct DefaultCertificateRenewal: Service {
    let certificate: DefaultCertificate
    let interval: Duration
    let logger: Logger

    func run() async throws {
        _ = try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    if try certificate.renewIfDue() {
                        logger.notice("renewed the local CA's HTTPS certificate", metadata: ["next_renewal": "\(certificate.renewalDue)"])
                    }
                } catch {
                    logger.error("cannot renew the local CA's HTTPS certificate; will retry", metadata: ["error": "\(error)"])
                }
                try await Task.sleep(for: interval)
            }
        }
    }
}
