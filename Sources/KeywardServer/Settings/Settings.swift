import Configuration
import Foundation
import KeywardCore

/// Every setting of a Keyward server, read in one place with the precedence
/// command-line flag > `KEYWARD_*` environment variable > config file (JSON) > default.
public struct Settings: Sendable {
    /// Directory of the embedded default: SQLite file, master key, local CA.
    public var dataDirectory: String = "./.keyward"
    /// `postgres://user:pass@host:port/db`; unset = SQLite under the data directory.
    public var databaseURL: String?
    /// Master key file; default `<data dir>/master.key`.
    public var masterKeyFile: String?
    /// Address both listeners bind to.
    public var host: String = "127.0.0.1"
    /// HTTPS listener port.
    public var httpsPort: Int = 8443
    /// Plain HTTP listener port (ACME challenges, `/.well-known/`, redirects).
    public var httpPort: Int = 8080
    /// Extra names for the local-CA HTTPS certificate (besides localhost, 127.0.0.1, ::1).
    public var hostnames: [String] = []
    /// Where people reach the cabinet (`https://keys.example.com`): every link Keyward mails or prints
    /// (invitations, setup and reset links, curl examples) is built from it, never from a request's
    /// Host header. Required once a mail relay is configured.
    public var publicURL: String?
    /// Proxies whose `X-Forwarded-Proto` / `X-Forwarded-For` are believed.
    public var trustedProxies: [IPNetwork] = []
    /// Serve the whole API on plain HTTP (tests and benchmarks only).
    public var insecureHTTP: Bool = false
    /// Where authenticated `/v1/` calls are forwarded.
    public var upstreamURL: String?
    /// swift-log level.
    public var logLevel: String = "info"
    /// `text` (default) or `json`, one object per line (`log_format`).
    public var logFormat: LogFormat = .text
    /// Largest request body forwarded upstream, in bytes.
    public var maxBodyBytes: Int = 10 * 1024 * 1024
    /// Where live myPOS IPC forms are posted (the path of myPOS's own endpoint by default).
    public var myposPath: String = "/vmp/checkout"
    /// Where test-mode myPOS IPC forms are posted.
    public var myposTestPath: String = "/vmp/checkout-test"
    /// The ACME directory managed channels order from (Let's Encrypt by default).
    public var acmeDirectory: String = "https://acme-v02.api.letsencrypt.org/directory"
    /// A PEM file of extra certificates to trust for the ACME directory's HTTPS (pebble, a private CA).
    public var acmeCABundle: String?
    /// Contact address registered with the ACME account.
    public var acmeEmail: String?
    /// External account binding, for CAs that require one: key id and base64url HMAC key.
    public var acmeEABKeyID: String?
    public var acmeEABHMACKey: String?
    /// How often the certificate worker looks for due orders, expiry changes and webhooks to send.
    public var certificateCheckSeconds: Int = 60
    /// A keyed audit checkpoint every this many entries (not read from the environment: tests lower it).
    public var auditCheckpointInterval: Int64 = 100
    /// Bearer token `/metrics` asks for; unset = only loopback clients may scrape.
    public var metricsToken: String?
    /// bcrypt cost of cabinet passwords (each step doubles the work; 12 takes about a quarter second).
    public var passwordHashCost: UInt8 = 12
    /// Mail relay for invitations and password-reset links; unset = links are shown or printed instead.
    public var smtpHost: String?
    public var smtpPort: Int = 587
    /// `starttls`, `tls` (implicit, port 465) or `none` (a local relay; no password is sent then).
    public var smtpSecurity: SMTPSettings.Security = .starttls
    public var smtpUsername: String?
    public var smtpPassword: String?
    /// `From:` of Keyward's mail.
    public var smtpFrom: String?
    /// Extra CA certificates (PEM file) to trust for the relay's TLS.
    public var smtpCABundle: String?
    /// Special-purpose networks (loopback, private, ...) webhooks may reach anyway; empty = public addresses only.
    public var webhookAllowedNetworks: [IPNetwork] = []
    /// Not a setting: how webhook host names are resolved (`getaddrinfo`); tests put a table here.
    public var webhookResolver: WebhookNameResolver = .system

    /// Where webhooks may go: public addresses and `webhookAllowedNetworks`, names resolved by `webhookResolver`.
    public var webhookDestinations: WebhookDestinationPolicy {
        WebhookDestinationPolicy(allowedNetworks: webhookAllowedNetworks, resolver: webhookResolver)
    }

    /// Names no merchant may claim besides the server's own: exact names and `*.suffix` patterns.
    public var reservedDomains: [String] = []
    /// The resolver domain verification asks (TXT records, and the addresses of the HTTP check).
    /// `resolve` defaults it to the first nameserver of /etc/resolv.conf; nil = no checks can run.
    public var verificationDNSResolver: DNSServerAddress?
    /// Networks the HTTP check may connect to although they are not public (loopback, private...).
    /// Separate from the webhook policy on purpose, for now.
    public var verificationAllowedNetworks: [IPNetwork] = []
    /// How often verified domains are checked again, in hours.
    public var verificationRecheckHours: Int = 24
    /// JSON file of the public keys secret scanners sign leak reports with (GitHub's
    /// `/meta/public_keys/secret_scanning` shape); unset = `POST /v1/secret-scanning/reports` answers 503.
    public var secretScanningKeys: String?
    /// Largest leak report read, in bytes (5 MiB).
    public var secretScanningMaxBodyBytes: Int = 5 * 1024 * 1024
    /// Most tokens one leak report may hold.
    public var secretScanningMaxTokens: Int = 10_000
    /// Requests a second a merchant's live credentials may make together, unless the merchant set its own
    /// limit (Stripe's default: 100).
    public var rateLimitLive: Int = 100
    /// The same for test credentials (25).
    public var rateLimitTest: Int = 25
    /// Timeouts and connection cap of each listener (`idle_timeout_seconds`, `header_read_timeout_seconds`,
    /// `tls_handshake_timeout_seconds`, `max_connections`).
    public var listenerLimits = ListenerLimits()
    /// Refused authentications one address may get at once, and per second after that, before each further
    /// one is answered only after `refusedAuthPause` (`refused_auth_per_address_per_second`, 20).
    public var refusedAuthPerAddressPerSecond: Int = 20
    /// That pause (`refused_auth_pause_ms`, 1000; 0 turns the throttle off).
    public var refusedAuthPause: Duration = .seconds(1)
    /// Technical sessions per merchant and how long unused ones live (`device_session_max_open`,
    /// `device_session_unused_seconds`).
    public var deviceSessionLimits = DeviceSessionLimits()
    /// Largest myPOS form or AliKassa body read to authenticate it (`signed_form_max_body_bytes`, 64 KiB).
    public var signedFormMaxBodyBytes: Int = 64 * 1024
    /// Most PBKDF2 iterations an uploaded encrypted key may ask for (`pbkdf2_max_iterations`, 1,000,000).
    public var pbkdf2MaxIterations: Int = 1_000_000
    /// Threads of the pool for CPU-heavy work (bcrypt, PBKDF2, RSA key generation, chains, CSRs) (`heavy_work_threads`, 2).
    public var heavyWorkThreads: Int = 2
    /// Jobs that pool runs or holds at once; more are answered 503 `server_busy` with Retry-After (`heavy_work_queue`, 32).
    public var heavyWorkQueue: Int = 32
    /// How long a SQLite write waits for another writer's lock before failing with 503 `storage_unavailable`
    /// (`sqlite_busy_timeout_ms`, 10 s).
    public var sqliteBusyTimeout: Duration = .seconds(10)

    public init() {}

    /// The server's own names, which no channel may claim: the `hostname`s and the public URL's host.
    /// Passed to Core as a plain list so more sources are easy to add.
    public var ownDomainNames: [String] { hostnames + (publicURL.flatMap { URL(string: $0)?.host }.map { [$0] } ?? []) }

    /// What channels may not claim: the server's own names and `reserved_domains`.
    public func reserved() throws -> ReservedDomains {
        do { return try ReservedDomains(serverNames: ownDomainNames, denied: reservedDomains) } catch {
            throw SettingsError("reserved_domains: \(error.message)")
        }
    }

    /// When and how domain verification checks run.
    public var verificationPolicy: DomainVerificationPolicy {
        var policy = DomainVerificationPolicy()
        policy.recheckInterval = TimeInterval(verificationRecheckHours) * 3600
        return policy
    }

    /// The mail transport, when one is configured (host and sender set).
    public var smtp: SMTPSettings? {
        guard let host = smtpHost, let from = smtpFrom else { return nil }
        return SMTPSettings(
            host: host,
            port: smtpPort,
            security: smtpSecurity,
            username: smtpUsername,
            password: smtpPassword,
            from: from,
            caBundle: smtpCABundle
        )
    }

    /// The base of every link: `public_url`, or the first `hostname` (else localhost) on the HTTPS port.
    public var publicBaseURL: String {
        if let publicURL { return publicURL }
        let port = httpsPort == 443 ? "" : ":\(httpsPort)"
        return "https://\(hostnames.first ?? "localhost")\(port)"
    }

    /// SQLite file of the embedded default.
    public var sqlitePath: String { dataDirectory + "/keyward.sqlite" }
    /// Effective master key file.
    public var effectiveMasterKeyFile: String { masterKeyFile ?? dataDirectory + "/master.key" }

    /// Resolves settings from `flags` (already parsed; only those given), `environment` and the config
    /// file named by the `config` flag or `KEYWARD_CONFIG_FILE`.
    /// Every name read must be in `Settings.table` (SettingsTable.swift); values come through swift-configuration
    /// (SettingsSources.swift) with the precedence flag > environment > file > the table's default.
    /// `accessReporter` sees every read (tests check that secret values reach it redacted).
    public static func resolve(
        flags: [String: String],
        environment: [String: String],
        accessReporter: (any AccessReporter)? = nil
    ) throws -> Settings {
        let reader = try Settings.reader(flags: flags, environment: environment, accessReporter: accessReporter)
        func value(_ name: String) -> String? {
            assert(Settings.spec(name) != nil, "setting \(name) is missing from Settings.table")
            return reader.string(forKey: ConfigKey([name]), isSecret: Settings.spec(name)?.isSecret ?? false)
        }
        func list(_ name: String) -> [String] {
            (value(name) ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        func port(_ name: String, _ fallback: Int) throws -> Int {
            guard let text = value(name) else { return fallback }
            guard let number = Int(text), (0...65535).contains(number) else { throw SettingsError("\(name) must be a port number, got '\(text)'") }
            return number
        }
        var settings = Settings()
        if let dir = value("data_dir") { settings.dataDirectory = dir }
        settings.databaseURL = value("database_url").flatMap { $0.isEmpty ? nil : $0 }
        settings.masterKeyFile = value("master_key_file").flatMap { $0.isEmpty ? nil : $0 }
        if let host = value("host") { settings.host = host }
        settings.httpsPort = try port("https_port", settings.httpsPort)
        settings.httpPort = try port("http_port", settings.httpPort)
        settings.hostnames = list("hostname")
        if let text = value("public_url"), !text.isEmpty {
            let trimmed = text.hasSuffix("/") ? String(text.dropLast()) : text
            guard let url = URL(string: trimmed), url.scheme == "https", let host = url.host, !host.isEmpty, url.user == nil,
                url.query == nil, url.fragment == nil, url.path.isEmpty
            else {
                throw SettingsError("public_url must be an https:// origin such as https://keys.example.com (no path, query or credentials)")
            }
            settings.publicURL = trimmed
        }
        settings.trustedProxies = try list("trusted_proxy").map { text in
            do { return try IPNetwork(parsing: text) } catch {
                throw SettingsError("trusted_proxy: \((error as? KeywardError)?.message ?? "invalid")")
            }
        }
        if let flag = value("insecure_http") {
            guard let parsed = parseBool(flag) else { throw SettingsError("insecure_http must be true or false") }
            settings.insecureHTTP = parsed
        }
        settings.upstreamURL = value("upstream_url").flatMap { $0.isEmpty ? nil : $0 }
        if let upstream = settings.upstreamURL {
            guard let url = URL(string: upstream), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil else {
                throw SettingsError("upstream_url must be an http:// or https:// URL")
            }
        }
        if let level = value("log_level") {
            // Unknown levels used to fall back to info silently; a typo now says so.
            let levels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
            guard levels.contains(level.lowercased()) else {
                throw SettingsError("log_level must be one of \(levels.joined(separator: ", ")), got '\(level)'")
            }
            settings.logLevel = level.lowercased()
        }
        if let format = value("log_format") {
            guard let parsed = LogFormat(rawValue: format) else { throw SettingsError("log_format must be text or json") }
            settings.logFormat = parsed
        }
        if let text = value("max_body_bytes") {
            guard let bytes = Int(text), bytes > 0 else { throw SettingsError("max_body_bytes must be a positive integer") }
            settings.maxBodyBytes = bytes
        }
        for (name, keyPath) in [("mypos_path", \Settings.myposPath), ("mypos_test_path", \Settings.myposTestPath)] {
            guard let path = value(name) else { continue }
            let ok =
                path.hasPrefix("/") && !path.hasPrefix("/v1/") && path != "/v1" && !path.hasPrefix("/.well-known/")
                && path.utf8.count <= 200 && !path.contains("*") && !path.contains(":")
            guard ok else { throw SettingsError("\(name) must be a path starting with '/', outside /v1/ and /.well-known/, without '*' or ':'") }
            settings[keyPath: keyPath] = path
        }
        if let directory = value("acme_directory") {
            guard let url = URL(string: directory), url.scheme == "https", url.host != nil else {
                throw SettingsError("acme_directory must be an https:// URL")
            }
            settings.acmeDirectory = directory
        }
        settings.acmeCABundle = value("acme_ca_bundle").flatMap { $0.isEmpty ? nil : $0 }
        if let bundle = settings.acmeCABundle, !FileManager.default.isReadableFile(atPath: bundle) {
            throw SettingsError("acme_ca_bundle \(bundle) cannot be read")
        }
        settings.acmeEmail = value("acme_email").flatMap { $0.isEmpty ? nil : $0 }
        settings.acmeEABKeyID = value("acme_eab_kid").flatMap { $0.isEmpty ? nil : $0 }
        settings.acmeEABHMACKey = value("acme_eab_hmac_key").flatMap { $0.isEmpty ? nil : $0 }
        guard (settings.acmeEABKeyID == nil) == (settings.acmeEABHMACKey == nil) else {
            throw SettingsError("acme_eab_kid and acme_eab_hmac_key go together")
        }
        if let text = value("certificate_check_seconds") {
            guard let seconds = Int(text), (1...86400).contains(seconds) else { throw SettingsError("certificate_check_seconds must be 1 to 86400") }
            settings.certificateCheckSeconds = seconds
        }
        settings.metricsToken = value("metrics_token").flatMap { $0.isEmpty ? nil : $0 }
        if let text = value("password_hash_cost") {
            guard let cost = UInt8(text), (4...16).contains(cost) else { throw SettingsError("password_hash_cost must be 4 to 16") }
            settings.passwordHashCost = cost
        }
        settings.smtpHost = value("smtp_host").flatMap { $0.isEmpty ? nil : $0 }
        settings.smtpPort = try port("smtp_port", settings.smtpPort)
        if let text = value("smtp_security") {
            guard let security = SMTPSettings.Security(rawValue: text) else { throw SettingsError("smtp_security must be starttls, tls or none") }
            settings.smtpSecurity = security
        }
        settings.smtpUsername = value("smtp_username").flatMap { $0.isEmpty ? nil : $0 }
        settings.smtpPassword = value("smtp_password").flatMap { $0.isEmpty ? nil : $0 }
        settings.smtpFrom = value("smtp_from").flatMap { $0.isEmpty ? nil : $0 }
        settings.smtpCABundle = value("smtp_ca_bundle").flatMap { $0.isEmpty ? nil : $0 }
        settings.webhookAllowedNetworks = try list("webhook_allowed_networks").map { text in
            do { return try IPNetwork(parsing: text) } catch {
                throw SettingsError("webhook_allowed_networks: \((error as? KeywardError)?.message ?? "invalid")")
            }
        }
        if settings.smtpHost != nil, settings.smtpFrom == nil { throw SettingsError("smtp_from is required with smtp_host") }
        settings.secretScanningKeys = value("secret_scanning_keys").flatMap { $0.isEmpty ? nil : $0 }
        if let text = value("secret_scanning_max_body_bytes") {
            guard let bytes = Int(text), (1024...(64 * 1024 * 1024)).contains(bytes) else {
                throw SettingsError("secret_scanning_max_body_bytes must be 1024 to 67108864")
            }
            settings.secretScanningMaxBodyBytes = bytes
        }
        if let text = value("secret_scanning_max_tokens") {
            guard let count = Int(text), (1...100_000).contains(count) else { throw SettingsError("secret_scanning_max_tokens must be 1 to 100000") }
            settings.secretScanningMaxTokens = count
        }
        for (name, path) in [("rate_limit_live", \Settings.rateLimitLive), ("rate_limit_test", \Settings.rateLimitTest)] {
            guard let text = value(name) else { continue }
            guard let quota = Int(text), RateLimitPolicy.quotaRange.contains(quota) else {
                throw SettingsError("\(name) must be 1 to 1000000 (requests a second)")
            }
            settings[keyPath: path] = quota
        }
        settings.reservedDomains = list("reserved_domains")
        _ = try settings.reserved()
        if let text = value("verification_dns_resolver"), !text.isEmpty {
            do { settings.verificationDNSResolver = try DNSServerAddress(parsing: text) } catch {
                throw SettingsError("verification_dns_resolver: \(error.message)")
            }
        } else {
            settings.verificationDNSResolver = DNSServerAddress.system()
        }
        settings.verificationAllowedNetworks = try list("verification_allowed_networks").map { text in
            do { return try IPNetwork(parsing: text) } catch {
                throw SettingsError("verification_allowed_networks: \((error as? KeywardError)?.message ?? "invalid")")
            }
        }
        if let text = value("verification_recheck_hours") {
            guard let hours = Int(text), (1...720).contains(hours) else { throw SettingsError("verification_recheck_hours must be 1 to 720") }
            settings.verificationRecheckHours = hours
        }
        if settings.smtpHost != nil, settings.publicURL == nil {
            throw SettingsError(
                "public_url is required with smtp_host: mailed links must name where members reach the cabinet, never a request's Host header"
            )
        }
        try settings.resolveLimits(value)
        guard settings.myposPath != settings.myposTestPath else { throw SettingsError("mypos_path and mypos_test_path must differ") }
        return settings
    }

    static func parseBool(_ text: String) -> Bool? {
        switch text.lowercased() {
        case "1", "true", "yes", "on": true
        case "0", "false", "no", "off": false
        default: nil
        }
    }
}

/// A setting that cannot be used; says which and why.
public struct SettingsError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}
