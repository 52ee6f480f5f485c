import Foundation
import KeywardCore
import KeywardCrypto
import KeywardDialects
import Logging
import ServiceLifecycle

/// Everything the server and the CLI share: the opened store, the master keyring and the domain services.
public struct KeywardServices: Sendable {
    public let settings: Settings
    public let store: KeywardStore
    public let keyring: MasterKeyring
    public let changes: CredentialChanges
    public let lastUsed: LastUsedRecorder
    public let authenticator: KeyAuthenticator
    public let merchants: MerchantService
    public let secretKeys: SecretKeyService
    public let paymentKeys: PaymentKeyService
    public let signingKeys: SigningKeyService
    public let stores: StoreService
    public let storeDirectory: StoreDirectory
    public let jweKeys: JWEKeyService
    public let deviceSessions: DeviceSessionService
    public let certificates: CertificateService
    public let channels: SalesChannelService
    /// Proves merchants' control of their channels' domains; nothing is served for a domain before.
    public let domainVerifications: DomainVerificationService
    public let webhooks: WebhookService
    public let domainAssociations: DomainAssociationService
    public let acmeState: ACMEState
    public let applePayRequests: ApplePayRequests
    public let audit: AuditLog
    public let accounts: AccountService
    public let team: TeamService
    public let cabinetSessions: CabinetSessions
    public let merchantSettings: MerchantSettingsService
    /// Acts on secret scanners' leak reports.
    public let leakedKeys: LeakedKeyService
    /// The rate limits merchants set, and the counter every verified request is taken from.
    public let rateLimits: RateLimitSettings
    public let rateLimiter: RateLimiter
    /// Pauses the answers to an address that keeps failing authentication (shared by both listeners).
    public let refusals: RefusalThrottle
    /// The scanners' public keys (`secret_scanning_keys`); nil when none are configured.
    public let scannerKeys: SecretScanningKeys?
    public let clock: KeywardClock
    public let logger: Logger

    /// The bounded pool for CPU-heavy work (key generation, bcrypt, PBKDF2, chains): 503 `server_busy` when full.
    public var heavyWork: HeavyWork { certificates.heavyWork }

    /// Opens the database (migrating it when `migrate`), loads or creates the master key, and builds the services.
    public static func open(settings: Settings, logger: Logger, clock: KeywardClock = .system, migrate: Bool = true) async throws -> KeywardServices {
        let scannerKeys = try SecretScanningController.loadKeys(settings: settings)
        let store = try KeywardStore(
            databaseURL: settings.databaseURL,
            sqlitePath: settings.sqlitePath,
            sqliteBusyTimeout: settings.sqliteBusyTimeout,
            logger: logger
        )
        let keyring: MasterKeyring
        do {
            if migrate { try await store.migrate() }
            // The database is asked first: with sealed secrets in it, a missing key file is an error, not a new key.
            keyring = try await MasterKeyStartup.loadKeyring(settings: settings, store: store, logger: logger)
            if migrate { try await MasterKeyAnnouncements(store: store, clock: clock).adopt(into: keyring, logger: logger) }
            if migrate { try await checkSealedSecretsReadable(store: store, keyring: keyring, settings: settings) }
        } catch {
            await store.shutdown()
            throw error
        }
        let changes = CredentialChanges(engine: store.engine)
        let lastUsed = LastUsedRecorder(store: store, logger: logger)
        let jweKeys = JWEKeyService(store: store, changes: changes, clock: clock)
        let heavyWork = HeavyWork(threads: settings.heavyWorkThreads, maxPending: settings.heavyWorkQueue)
        let certificates = CertificateService(store: store, keyring: keyring, changes: changes, clock: clock, heavyWork: heavyWork)
        let accounts = AccountService(
            store: store,
            keyring: keyring,
            clock: clock,
            hasher: PasswordHasher(cost: settings.passwordHashCost, pool: heavyWork)
        )
        let reserved: ReservedDomains
        do { reserved = try settings.reserved() } catch {
            await store.shutdown()
            throw error
        }
        let checker: any DomainControlChecker =
            settings.verificationDNSResolver.map {
                NetworkDomainChecker(resolver: $0, policy: OutboundAddressPolicy(allowedNetworks: settings.verificationAllowedNetworks))
            } ?? UnavailableDomainChecker()
        let webhooks = WebhookService(store: store, keyring: keyring, clock: clock, destinations: settings.webhookDestinations)
        let audit = AuditLog(store: store, clock: clock, keyring: keyring, checkpointInterval: settings.auditCheckpointInterval)
        return KeywardServices(
            settings: settings,
            store: store,
            keyring: keyring,
            changes: changes,
            lastUsed: lastUsed,
            authenticator: KeyAuthenticator(store: store, changes: changes, lastUsed: lastUsed, clock: clock),
            merchants: MerchantService(store: store, clock: clock),
            secretKeys: SecretKeyService(store: store, changes: changes, clock: clock),
            paymentKeys: PaymentKeyService(store: store, keyring: keyring, changes: changes, clock: clock),
            signingKeys: SigningKeyService(store: store, keyring: keyring, changes: changes, clock: clock),
            stores: StoreService(store: store, keyring: keyring, changes: changes, clock: clock, heavyWork: heavyWork),
            storeDirectory: StoreDirectory(store: store, keyring: keyring, changes: changes),
            jweKeys: jweKeys,
            deviceSessions: DeviceSessionService(
                store: store,
                keyring: keyring,
                changes: changes,
                jweKeys: jweKeys,
                clock: clock,
                limits: settings.deviceSessionLimits
            ),
            certificates: certificates,
            channels: SalesChannelService(store: store, changes: changes, certificates: certificates, reserved: reserved, clock: clock),
            domainVerifications: DomainVerificationService(
                store: store,
                changes: changes,
                reserved: reserved,
                checker: checker,
                audit: audit,
                policy: settings.verificationPolicy,
                clock: clock
            ),
            webhooks: webhooks,
            domainAssociations: DomainAssociationService(store: store, clock: clock),
            acmeState: ACMEState(store: store, keyring: keyring, clock: clock),
            applePayRequests: ApplePayRequests(store: store, keyring: keyring, certificates: certificates, clock: clock),
            audit: audit,
            accounts: accounts,
            team: TeamService(store: store, accounts: accounts, clock: clock),
            cabinetSessions: CabinetSessions(store: store, clock: clock),
            merchantSettings: MerchantSettingsService(store: store, changes: changes, clock: clock),
            leakedKeys: LeakedKeyService(store: store, changes: changes, webhooks: webhooks, audit: audit, clock: clock),
            rateLimits: RateLimitSettings(store: store, changes: changes, defaults: (settings.rateLimitLive, settings.rateLimitTest), clock: clock),
            // One process serves an SQLite file, so its counts live in memory; instances of one
            // PostgreSQL database share theirs in `rate_windows`.
            rateLimiter: RateLimiter(
                store: store.engine.isPostgres ? SQLRateWindows(store: store) : MemoryRateWindows(),
                clock: clock,
                logger: logger
            ),
            refusals: RefusalThrottle(perSecond: settings.refusedAuthPerAddressPerSecond, pause: settings.refusedAuthPause, clock: clock),
            scannerKeys: scannerKeys,
            clock: clock,
            logger: logger
        )
    }

    /// Refuses to start with a master key that cannot open what the database holds (e.g. a new key file
    /// created by mistake on a second instance), rather than failing later on every sealed secret.
    static func checkSealedSecretsReadable(store: KeywardStore, keyring: MasterKeyring, settings: Settings) async throws {
        let sealedUnder = try await MasterKeyStartup.sealedKeyIDs(store)
        let unknown = sealedUnder.subtracting(keyring.keyIDs)
        if !unknown.isEmpty {
            throw MasterKeyRefused(
                code: .masterKeyMismatch,
                expected: unknown.sorted(),
                file: settings.effectiveMasterKeyFile,
                message:
                    "holds master key(s) \(keyring.keyIDs.joined(separator: ", ")), which cannot open them; point KEYWARD_MASTER_KEY_FILE at the right key"
            )
        }
    }

    /// Files sealed under the master key, for rotation.
    public var sealedFiles: [(path: String, context: String)] {
        let tls = LocalTLS(dataDirectory: settings.dataDirectory)
        return [(tls.caKeyPath, LocalTLS.caKeyContext)]
    }
}
