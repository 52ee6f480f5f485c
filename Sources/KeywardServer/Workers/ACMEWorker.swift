import Crypto
import Foundation
import KeywardACME
import KeywardCore
import KeywardCrypto
import Logging
import ServiceLifecycle
import X509

/// HTTP-01 answers published in the database, so any instance's HTTP listener can serve them.
struct DatabaseHTTP01Responder: HTTP01Responder {
    let state: ACMEState

    func publish(token: String, keyAuthorization: String, domain: String) async throws {
        try await state.publishChallenge(token: token, keyAuthorization: keyAuthorization, domain: domain)
    }

    func withdraw(token: String) async {
        try? await state.withdrawChallenge(token: token)
    }
}

/// Obtains and renews the certificates of managed channels: claims due channels, orders each by ACME
/// (several at once), stores the result (served at once by SNI), schedules the renewal at 2/3 of the
/// lifetime or inside the CA's ARI window, and backs off 1 h, doubling, capped at 32 h after a failure.
public actor ACMEWorker {
    let services: KeywardServices
    let issuance: ChannelIssuance
    let state: ACMEState
    let logger: Logger
    let maximumConcurrentOrders: Int
    var client: ACMEClient?

    public init(services: KeywardServices, logger: Logger, maximumConcurrentOrders: Int = 8) {
        self.services = services
        self.issuance = ChannelIssuance(
            store: services.store,
            changes: services.changes,
            certificates: services.certificates,
            webhooks: services.webhooks,
            audit: services.audit,
            clock: services.clock
        )
        self.state = ACMEState(store: services.store, keyring: services.keyring, clock: services.clock)
        self.logger = logger
        self.maximumConcurrentOrders = maximumConcurrentOrders
    }

    /// What one pass did.
    public struct Report: Sendable, Equatable {
        public var issued = 0
        public var failed = 0
        public var deferred = 0
    }

    /// Runs every due order now and waits for all of them.
    @discardableResult
    public func runDueOrders() async throws -> Report {
        var report = Report()
        while true {
            let due = try await issuance.claimDue(limit: maximumConcurrentOrders)
            if due.isEmpty { return report }
            let client: ACMEClient
            do {
                client = try await acmeClient()
            } catch {
                // No account at the CA (down, refusing, misconfigured): every claimed order fails with that reason.
                for channel in due {
                    try await issuance.recordFailure(channel: channel, reason: Self.reason(error), retryAfter: RenewalSchedule.backoff(failures:))
                }
                report.failed += due.count
                continue
            }
            let outcomes = await withTaskGroup(of: Outcome.self) { group in
                for channel in due { group.addTask { await self.order(channel, client: client) } }
                var outcomes: [Outcome] = []
                for await outcome in group { outcomes.append(outcome) }
                return outcomes
            }
            for outcome in outcomes {
                switch outcome {
                case .issued: report.issued += 1
                case .failed: report.failed += 1
                case .deferred: report.deferred += 1
                }
            }
        }
    }

    /// Closes the ACME client's connections.
    public func shutdown() async {
        await client?.shutdown()
        client = nil
    }

    enum Outcome { case issued, failed, deferred }

    nonisolated func order(_ channel: SalesChannelInfo, client: ACMEClient) async -> Outcome {
        var previous: Certificate?
        do {
            if let id = channel.certificateID { previous = try await services.certificates.parsedCertificate(id: id) }
            // A renewal the CA's ARI window says can wait is moved into that window instead.
            if let previous, let window = try? await client.renewalWindow(for: previous), window.start > services.clock.now() {
                let at = RenewalSchedule.renewalTime(
                    notBefore: previous.notValidBefore,
                    notAfter: previous.notValidAfter,
                    window: window,
                    fraction: .random(in: 0..<1)
                )
                try await issuance.reschedule(
                    channelID: channel.id,
                    to: at,
                    detail: "The CA's renewal window opens \(ISO8601DateFormatter().string(from: window.start))."
                )
                return .deferred
            }
            let key = P256.Signing.PrivateKey()
            let csr = try CertificateRequest.make(
                privateKey: Certificate.PrivateKey(key),
                commonName: channel.domains.first,
                dnsNames: channel.domains
            )
            let chain = try await client.issue(
                domains: channel.domains,
                csrDER: csr,
                replaces: previous.flatMap(RenewalSchedule.certificateID),
                responder: DatabaseHTTP01Responder(state: state)
            )
            let leaf = try Certificate(pemEncoded: PEMChain.firstCertificate(in: chain))
            let window = try? await client.renewalWindow(for: leaf)
            let renewAt = RenewalSchedule.renewalTime(
                notBefore: leaf.notValidBefore,
                notAfter: leaf.notValidAfter,
                window: window,
                fraction: .random(in: 0..<1)
            )
            let stored = try await issuance.recordIssued(channel: channel, chainPEM: chain, privateKeyPEM: key.pemRepresentation, renewAt: renewAt)
            logger.notice(
                "certificate issued",
                metadata: ["channel": "\(channel.id)", "certificate": "\(stored.id)", "renewed": "\(previous != nil)"]
            )
            return .issued
        } catch is CancellationError {
            // The server is stopping: not the CA's fault. The lease runs out and another pass retries.
            return .deferred
        } catch {
            let reason = Self.reason(error)
            logger.warning("certificate order failed", metadata: ["channel": "\(channel.id)", "reason": "\(reason)"])
            try? await issuance.recordFailure(channel: channel, reason: reason, retryAfter: RenewalSchedule.backoff(failures:))
            return .failed
        }
    }

    static func reason(_ error: Error) -> String {
        switch error {
        case let error as ACMEError: error.description
        case let error as KeywardError: error.description
        case let error as CertificateUploadRefusal: "\(error.code): \(error.message)"
        default: "internal_error: \(type(of: error))"
        }
    }

    func acmeClient() async throws -> ACMEClient {
        if let client { return client }
        let settings = services.settings
        let account = try await state.account(directoryURL: settings.acmeDirectory) { ACMEAccountKey().pem }
        var configuration = ACMEConfiguration(directoryURL: settings.acmeDirectory, contactEmail: settings.acmeEmail)
        if let path = settings.acmeCABundle { configuration.caBundlePEM = try String(contentsOfFile: path, encoding: .utf8) }
        if let kid = settings.acmeEABKeyID, let hmac = settings.acmeEABHMACKey {
            guard let key = Base64URL.decode(hmac) else { throw ACMEError(.acmeBadConfiguration, "acme_eab_hmac_key is not base64url.") }
            configuration.externalAccountKeyID = kid
            configuration.externalAccountHMACKey = Array(key)
        }
        let created = try ACMEClient(
            configuration: configuration,
            accountKey: try ACMEAccountKey(pem: account.keyPEM),
            accountURL: account.accountURL
        )
        if account.accountURL == nil {
            do {
                let url = try await created.registerAccount()
                try await state.saveAccountURL(id: account.id, accountURL: url)
            } catch {
                await created.shutdown()
                throw error
            }
        }
        client = created
        return created
    }
}

/// Runs the worker's passes in the background while the server runs.
struct CertificateWorkerService: Service {
    let worker: ACMEWorker
    let alerts: ExpiryAlerts
    let interval: Duration
    let logger: Logger

    func run() async throws {
        // Two loops, so a slow webhook endpoint never delays an order or a renewal, nor the reverse.
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    while !Task.isCancelled {
                        do { try await worker.runDueOrders() } catch {
                            logger.warning("certificate orders could not run", metadata: ["reason": "\(ACMEWorker.reason(error))"])
                        }
                        try? await Task.sleep(for: interval)
                    }
                }
                group.addTask {
                    while !Task.isCancelled {
                        do { try await alerts.runOnce() } catch {
                            logger.warning("expiry alerts could not run", metadata: ["error_type": "\(type(of: error))"])
                        }
                        try? await Task.sleep(for: interval)
                    }
                }
            }
        }
        await worker.shutdown()
    }
}

enum PEMChain {
    /// The first certificate block of a PEM chain.
    static func firstCertificate(in chain: String) throws -> String {
        guard let start = chain.range(of: "-----BEGIN CERTIFICATE-----"),
            let end = chain.range(of: "-----END CERTIFICATE-----", range: start.upperBound..<chain.endIndex)
        else {
            throw ACMEError(.acmeBadResponse, "The CA's chain holds no certificate.")
        }
        return String(chain[start.lowerBound..<end.upperBound])
    }
}
