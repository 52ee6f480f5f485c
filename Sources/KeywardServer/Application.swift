import Foundation
import Hummingbird
import HummingbirdTLS
import KeywardCore
import KeywardCrypto
import Logging
import NIOCore
import NIOSSL
import ServiceLifecycle

/// Which listener a router serves.
public enum Listener: Sendable {
    /// The HTTPS listener: the whole API.
    case https
    /// The plain HTTP listener: `/.well-known/`, redirects, and 403 `https_required` for API calls
    /// (the whole API with `--insecure-http`).
    case plainHTTP
}

/// The routes of one listener.
/// `table`, when given, receives every management and cabinet route with what it needs.
public func buildRouter(
    _ services: KeywardServices,
    listener: Listener,
    proxy: UpstreamProxyHandle? = nil,
    table: RouteTable = RouteTable()
) -> Router<KeywardRequestContext> {
    let settings = services.settings
    let router = Router(context: KeywardRequestContext.self)
    if listener == .https { router.add(middleware: StrictTransportSecurityMiddleware()) }
    router.add(middleware: RequestLogMiddleware())
    if listener == .plainHTTP && !settings.insecureHTTP {
        router.add(middleware: PlainHTTPGuardMiddleware(trustedProxies: settings.trustedProxies, httpsPort: settings.httpsPort))
    }
    router.add(middleware: ClientAddressMiddleware(trustedProxies: settings.trustedProxies))
    WellKnownController(acme: services.acmeState, associations: services.domainAssociations).addRoutes(to: router)
    if listener == .https {
        MetricsController(
            certificates: services.certificates,
            issuance: ChannelIssuance(
                store: services.store,
                changes: services.changes,
                certificates: services.certificates,
                clock: services.clock
            ),
            clock: services.clock,
            token: settings.metricsToken
        ).addRoutes(to: router)
    }
    router.get("healthz") { _, _ in
        var json = FlatJSON()
        json.add("status", "ok")
        return json.response()
    }
    router.get("/") { _, _ in
        try JSONResponse.make(["service": "keyward", "auth_test": "/v1/auth/test", "management": "/v1/manage/keys"])
    }
    let signatures = HTTPSignatureAuthenticator(
        directory: services.storeDirectory,
        signingKeys: services.signingKeys,
        clock: services.clock,
        scheme: listener == .plainHTTP && settings.insecureHTTP ? "http" : "https",
        maxBodyBytes: settings.maxBodyBytes
    )
    let providers = ProviderAuthenticator(
        directory: services.storeDirectory,
        signingKeys: services.signingKeys,
        clock: services.clock,
        maxBodyBytes: settings.signedFormMaxBodyBytes
    )
    let rateLimits = RateLimitGate(limiter: services.rateLimiter, settings: services.rateLimits, refusals: services.refusals)
    let myPOS = MyPOSController(providers: providers, proxy: proxy?.proxy, maxBodyBytes: settings.maxBodyBytes, rateLimits: rateLimits)
    myPOS.addRoutes(to: router, path: settings.myposPath, mode: .live)
    myPOS.addRoutes(to: router, path: settings.myposTestPath, mode: .test)
    let authentication = SecretKeyAuthMiddleware(
        authenticator: services.authenticator,
        signatures: signatures,
        providers: providers,
        sessions: services.deviceSessions,
        rateLimits: rateLimits
    )
    AllianceController(sessions: services.deviceSessions, proxy: proxy?.proxy, maxBodyBytes: settings.maxBodyBytes, rateLimits: rateLimits).addRoutes(
        to: router
    )
    CipherHelperController(jweKeys: services.jweKeys, clock: services.clock).addRoutes(to: router.group("cipher").add(middleware: authentication))
    // Leak reports are signed by a secret scanner, not sent with a key: outside the `/v1` key group.
    SecretScanningController(services: services).addRoutes(to: router, table: table)
    OpenAPIController().addRoutes(to: router, table: table)
    let v1 = router.group("v1").add(middleware: authentication)
    // Every management route is registered with what it needs (`ManageRoutes`); its handler gets a
    // `ManageContext`, which exists only for a verified key.
    let manage = ManageRoutes(
        group: v1.group("manage", context: ManageContext.self),
        table: table,
        prefix: "/v1/manage",
        audit: services.audit
    )
    AuditController(audit: services.audit).addRoutes(to: manage)
    MerchantSettingsController(settings: services.merchantSettings).addRoutes(to: manage)
    RateLimitController(limits: services.rateLimits).addRoutes(to: manage)
    ManagementController(secretKeys: services.secretKeys, paymentKeys: services.paymentKeys, clock: services.clock)
        .addRoutes(to: manage)
    SigningKeyController(signingKeys: services.signingKeys, heavyWork: services.heavyWork, clock: services.clock).addRoutes(to: manage)
    StoreController(stores: services.stores, heavyWork: services.heavyWork, clock: services.clock).addRoutes(to: manage)
    JWEKeyController(jweKeys: services.jweKeys, sessions: services.deviceSessions, clock: services.clock).addRoutes(to: manage)
    CertificateController(
        certificates: services.certificates,
        channels: services.channels,
        applePay: services.applePayRequests,
        clock: services.clock
    )
    .addRoutes(to: manage)
    let channelController = ChannelController(
        channels: services.channels,
        certificates: services.certificates,
        webhooks: services.webhooks,
        associations: services.domainAssociations,
        verifications: services.domainVerifications,
        clock: services.clock
    )
    channelController.addRoutes(to: manage)
    DomainVerificationController(verifications: services.domainVerifications, channels: channelController).addRoutes(to: manage)
    manage.refuseUnknownPaths()
    if listener == .https, let cabinet = try? CabinetController(services: services) { cabinet.addRoutes(to: router, table: table) }
    DiagnoseController(directory: services.storeDirectory, signingKeys: services.signingKeys, clock: services.clock).addRoutes(to: v1, table: table)
    GatewayController(proxy: proxy?.proxy).addRoutes(to: v1, table: table)
    return router
}

/// The upstream proxy, when `KEYWARD_UPSTREAM_URL` is set (opaque to callers).
public struct UpstreamProxyHandle: Sendable {
    let proxy: UpstreamProxy
}

/// Builds the Keyward server: the HTTPS application, with the plain HTTP listener and the background
/// services (change listener, last-used recorder, upstream client) attached. Used by `keyward serve`
/// and by the tests.
public func buildApplication(settings: Settings, logger: Logger? = nil, clock: KeywardClock = .system) async throws -> some ApplicationProtocol {
    var logger = logger ?? Logger(label: "keyward")
    if logger.logLevel == .info, let level = Logger.Level(rawValue: settings.logLevel) { logger.logLevel = level }
    EncryptedPKCS8.setMaximumRounds(settings.pbkdf2MaxIterations)
    // Both listeners at their caps, plus the database pool, certificates and logs.
    FileDescriptorLimit.raise(toFit: 2 * settings.listenerLimits.maxConnections + 1024, logger: logger)
    let services = try await KeywardServices.open(settings: settings, logger: logger, clock: clock)
    let proxy = settings.upstreamURL.map { UpstreamProxyHandle(proxy: UpstreamProxy(baseURL: $0, maxBodyBytes: settings.maxBodyBytes)) }

    let tls = LocalTLS(dataDirectory: settings.dataDirectory)
    var tlsConfiguration: TLSConfiguration
    let defaultCertificate: DefaultCertificate
    do {
        defaultCertificate = try tls.defaultCertificate(hostnames: settings.hostnames, keyring: services.keyring, clock: clock, logger: logger)
        tlsConfiguration = try defaultCertificate.serverConfiguration()
        // Channel domains get their own certificate by SNI; other names the local-CA one (renewed while serving).
        tlsConfiguration.sslContextCallback =
            SNICertificates(
                certificates: services.certificates,
                changes: services.changes,
                logger: logger,
                reserved: services.domainVerifications.reserved,
                fallback: defaultCertificate
            ).callback
    } catch {
        await services.store.shutdown()
        throw error
    }
    if settings.insecureHTTP {
        logger.critical(
            "--insecure-http: the whole API, keys included, is served on plain HTTP port \(settings.httpPort). For tests and benchmarks only."
        )
    }
    let (plainLogger, httpPort, insecureHTTP) = (logger, settings.httpPort, settings.insecureHTTP)
    let plainHTTP = Application(
        router: buildRouter(services, listener: .plainHTTP, proxy: proxy),
        server: try limitedHTTPServer(limits: settings.listenerLimits, tls: nil, name: "HTTP", logger: logger),
        configuration: .init(address: .hostname(settings.host, port: settings.httpPort), serverName: "Keyward"),
        onServerRunning: { channel in
            plainLogger.notice("\(plainHTTPListenerLine(listeningAddress(channel.localAddress, port: httpPort), insecureHTTP: insecureHTTP))")
        },
        logger: logger
    )

    var background: [any Service] = [
        StoreLifecycle(store: services.store),
        CredentialChangeListener(store: services.store, changes: services.changes, logger: logger),
        MasterKeyWatcher(announcements: MasterKeyAnnouncements(store: services.store, clock: clock), keyring: services.keyring, logger: logger),
        services.lastUsed,
        NoncePruner(store: services.store, clock: clock, logger: logger),
        DeviceSessionPruner(sessions: services.deviceSessions, logger: logger),
        CertificateWorkerService(
            worker: ACMEWorker(services: services, logger: logger),
            alerts: ExpiryAlerts(services: services, logger: logger),
            interval: .seconds(settings.certificateCheckSeconds),
            logger: logger
        ),
        DomainVerificationWorkerService(
            verifications: services.domainVerifications,
            interval: .seconds(settings.certificateCheckSeconds),
            logger: logger
        ),
        plainHTTP,
        DefaultCertificateRenewal(certificate: defaultCertificate, interval: .seconds(settings.certificateCheckSeconds), logger: logger),
    ]
    if let proxy { background.append(proxy.proxy) }
    let caPath = tls.caCertificatePath
    let httpsPort = settings.httpsPort
    let startLogger = logger
    return Application(
        router: buildRouter(services, listener: .https, proxy: proxy),
        server: try limitedHTTPServer(limits: settings.listenerLimits, tls: tlsConfiguration, name: "HTTPS", logger: logger),
        configuration: .init(address: .hostname(settings.host, port: httpsPort), serverName: "Keyward"),
        services: background,
        onServerRunning: { channel in
            startLogger.notice(
                "Keyward is serving HTTPS on \(listeningAddress(channel.localAddress, port: httpsPort)); local CA certificate: \(caPath)"
            )
        },
        logger: logger
    )
}

/// `127.0.0.1:8443` or `[::1]:8443`, not NIO's `[IPv4]127.0.0.1/127.0.0.1:8443`.
func listeningAddress(_ address: SocketAddress?, port: Int) -> String {
    guard let address, let ip = address.ipAddress else { return "port \(port)" }
    let shown = ip.contains(":") ? "[\(ip)]" : ip
    return "\(shown):\(address.port ?? port)"
}
