/// The one table of Keyward's settings. `Settings.resolve` reads exactly these names (through
/// swift-configuration: see SettingsSources.swift), `keyward serve --help` prints them, README's settings
/// table and docs/keyward.example.json are generated from them (SettingsTableTests fails when either differs).
///
/// Each setting is:
/// - a flag `--name-with-dashes value` (`keyward serve`; lists may repeat the flag or use commas),
/// - an environment variable `KEYWARD_NAME_IN_UPPER_CASE`,
/// - a key `name` of the JSON config file named by `--config FILE` or `KEYWARD_CONFIG_FILE`,
///
/// in that order of precedence, then the default.
public struct SettingSpec: Sendable, Equatable {
    /// What a setting's value looks like; used for help and the example file.
    public enum Kind: Sendable, Equatable {
        case text
        case integer
        case flag
        /// Comma-separated in flags and the environment, a JSON array in the config file.
        case list
        case choice([String])
    }

    /// `snake_case` name: the config file key.
    public let name: String
    public let kind: Kind
    /// The value used when no source gives one; nil = unset.
    public let defaultValue: String?
    /// What an unset setting means, when there is no literal default (`<data_dir>/master.key`).
    public let defaultNote: String?
    /// One line for --help and README.
    public let summary: String
    /// Never printed or logged with its value (swift-configuration redacts it in access logs too).
    public let isSecret: Bool

    init(_ name: String, _ kind: Kind, _ defaultValue: String?, note: String? = nil, secret: Bool = false, _ summary: String) {
        self.name = name
        self.kind = kind
        self.defaultValue = defaultValue
        self.defaultNote = note
        self.summary = summary
        self.isSecret = secret
    }

    /// `KEYWARD_HTTPS_PORT` for `https_port`.
    public var environmentName: String { "KEYWARD_" + name.uppercased() }
    /// `--https-port` for `https_port`.
    public var flagName: String { "--" + name.replacingOccurrences(of: "_", with: "-") }
    /// The default as shown to people.
    public var defaultText: String { defaultValue.map { $0.isEmpty ? "(empty)" : $0 } ?? defaultNote ?? "unset" }
    /// The value placeholder of the flag.
    public var placeholder: String {
        switch kind {
        case .text: "<text>"
        case .integer: "<int>"
        case .flag: "[true|false]"
        case .list: "<a,b,...>"
        case .choice(let values): values.joined(separator: "|")
        }
    }
}

extension Settings {
    /// Every setting, in the order --help, README and the example file list them.
    public static let table: [SettingSpec] = [
        SettingSpec("data_dir", .text, "./.keyward", "Directory of the embedded default: SQLite file, master key, local CA."),
        SettingSpec("database_url", .text, nil, note: "SQLite in data_dir", secret: true, "postgres://user:pass@host:port/db (it holds a password)."),
        SettingSpec(
            "master_key_file",
            .text,
            nil,
            note: "<data_dir>/master.key",
            "Master key file (the key seals every recoverable secret: back it up)."
        ),
        SettingSpec(
            "sqlite_busy_timeout_ms",
            .integer,
            "10000",
            "How long a SQLite write waits for another writer's lock before answering 503 storage_unavailable (10 to 600000)."
        ),
        SettingSpec("host", .text, "127.0.0.1", "Address both listeners bind to."),
        SettingSpec("https_port", .integer, "8443", "HTTPS listener port."),
        SettingSpec("http_port", .integer, "8080", "Plain HTTP listener port (ACME challenges, /.well-known/, redirects)."),
        SettingSpec("hostname", .list, nil, note: "none", "Extra names for the local-CA HTTPS certificate (besides localhost, 127.0.0.1, ::1)."),
        SettingSpec(
            "public_url",
            .text,
            nil,
            note: "https://<first hostname or localhost>:<https_port>",
            "Where members reach the cabinet; every mailed or printed link is built from it. Required with smtp_host."
        ),
        SettingSpec("trusted_proxy", .list, nil, note: "none", "CIDRs of TLS-terminating proxies whose X-Forwarded-Proto/-For are believed."),
        SettingSpec("insecure_http", .flag, "false", "Serve the whole API on plain HTTP (tests and benchmarks only)."),
        SettingSpec("upstream_url", .text, nil, "Where authenticated /v1/ calls are forwarded (http:// or https://)."),
        SettingSpec(
            "log_level",
            .choice(["trace", "debug", "info", "notice", "warning", "error", "critical"]),
            "info",
            "Least severe level logged."
        ),
        SettingSpec("log_format", .choice(["text", "json"]), "text", "text for people, json for log collectors (one object per line)."),
        SettingSpec("max_body_bytes", .integer, "10485760", "Largest request body forwarded upstream, in bytes."),
        SettingSpec("mypos_path", .text, "/vmp/checkout", "Path live myPOS IPC forms are posted to."),
        SettingSpec("mypos_test_path", .text, "/vmp/checkout-test", "Path test-mode myPOS IPC forms are posted to."),
        SettingSpec("acme_directory", .text, "https://acme-v02.api.letsencrypt.org/directory", "ACME directory managed channels order from."),
        SettingSpec("acme_ca_bundle", .text, nil, "PEM file of extra certificates to trust for the ACME directory's HTTPS."),
        SettingSpec("acme_email", .text, nil, "Contact address registered with the ACME account."),
        SettingSpec("acme_eab_kid", .text, nil, "External account binding key id, for CAs that require one (with acme_eab_hmac_key)."),
        SettingSpec("acme_eab_hmac_key", .text, nil, secret: true, "External account binding base64url HMAC key."),
        SettingSpec(
            "certificate_check_seconds",
            .integer,
            "60",
            "How often the certificate worker looks for due orders, expiry changes and webhooks (1 to 86400)."
        ),
        SettingSpec("metrics_token", .text, nil, note: "loopback clients only", secret: true, "Bearer token /metrics asks for."),
        SettingSpec("password_hash_cost", .integer, "12", "bcrypt cost of cabinet passwords (4 to 16; each step doubles the work)."),
        SettingSpec("smtp_host", .text, nil, note: "links are shown or printed instead", "Mail relay for invitations and password-reset links."),
        SettingSpec("smtp_port", .integer, "587", "Mail relay port."),
        SettingSpec(
            "smtp_security",
            .choice(["starttls", "tls", "none"]),
            "starttls",
            "starttls, tls (implicit, port 465) or none (a local relay; no password is sent then)."
        ),
        SettingSpec("smtp_username", .text, nil, "Mail relay user name."),
        SettingSpec("smtp_password", .text, nil, secret: true, "Mail relay password."),
        SettingSpec("smtp_from", .text, nil, "From: of Keyward's mail (required with smtp_host)."),
        SettingSpec("smtp_ca_bundle", .text, nil, "PEM file of extra CA certificates to trust for the relay's TLS."),
        SettingSpec(
            "webhook_allowed_networks",
            .list,
            nil,
            note: "none: public addresses only",
            "CIDRs webhooks may reach although not public (loopback, private, ...), for development setups."
        ),
        SettingSpec(
            "reserved_domains",
            .list,
            nil,
            note: "none",
            "Names no merchant may claim besides the server's own: exact names and *.suffix patterns."
        ),
        SettingSpec(
            "verification_dns_resolver",
            .text,
            nil,
            note: "first nameserver of /etc/resolv.conf",
            "Resolver domain verification asks (host or host:port)."
        ),
        SettingSpec("verification_allowed_networks", .list, nil, note: "none", "Networks the HTTP domain check may connect to although not public."),
        SettingSpec("verification_recheck_hours", .integer, "24", "How often verified domains are checked again, in hours (1 to 720)."),
        SettingSpec(
            "secret_scanning_keys",
            .text,
            nil,
            note: "leak reports answered 503",
            "JSON file of the public keys secret scanners sign leak reports with."
        ),
        SettingSpec("secret_scanning_max_body_bytes", .integer, "5242880", "Largest leak report read, in bytes (1024 to 67108864)."),
        SettingSpec("secret_scanning_max_tokens", .integer, "10000", "Most tokens one leak report may hold (1 to 100000)."),
        SettingSpec(
            "rate_limit_live",
            .integer,
            "100",
            "Requests a second a merchant's live credentials may make together, unless the merchant set its own."
        ),
        SettingSpec("rate_limit_test", .integer, "25", "The same for test credentials."),
        SettingSpec("idle_timeout_seconds", .integer, "60", "A keep-alive connection with no request in progress is closed after this (1 to 3600)."),
        SettingSpec("header_read_timeout_seconds", .integer, "10", "From a request's first byte to its complete head (1 to 600)."),
        SettingSpec("tls_handshake_timeout_seconds", .integer, "10", "From accept to a finished TLS handshake (1 to 600)."),
        SettingSpec("max_connections", .integer, "8192", "Connections per listener; more are closed on accept."),
        SettingSpec(
            "refused_auth_per_address_per_second",
            .integer,
            "20",
            "Refused authentications an address may get at once and per second before each is paused."
        ),
        SettingSpec("refused_auth_pause_ms", .integer, "1000", "That pause, in milliseconds (0 turns the throttle off; up to 60000)."),
        SettingSpec("device_session_max_open", .integer, "1000", "Open Alliance technical sessions per merchant and mode."),
        SettingSpec("device_session_unused_seconds", .integer, "600", "A technical session never used within this long is pruned (10 to 86400)."),
        SettingSpec("signed_form_max_body_bytes", .integer, "65536", "Largest myPOS form or AliKassa body read to authenticate it."),
        SettingSpec("pbkdf2_max_iterations", .integer, "1000000", "Most PBKDF2 iterations an uploaded encrypted key may ask for."),
        SettingSpec("heavy_work_threads", .integer, "2", "Threads for CPU-heavy work: bcrypt, PBKDF2, RSA key generation, chains, CSRs (1 to 64)."),
        SettingSpec("heavy_work_queue", .integer, "32", "Such jobs running or waiting at once; more are answered 503 server_busy (1 to 10000)."),
    ]

    /// Names of every setting, as used in the config file (`snake_case`) and, upper-cased with a
    /// `KEYWARD_` prefix, in the environment.
    public static let names: [String] = table.map(\.name)

    /// The table entry of `name`.
    public static func spec(_ name: String) -> SettingSpec? { table.first { $0.name == name } }
}
