import Foundation
import Testing

@testable import KeywardServer

/// The one settings table against what people read: README's settings table, docs/keyward.example.json,
/// `keyward serve --help`, and the defaults `Settings` really has.
@Suite struct SettingsTableTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let example = root.appendingPathComponent("docs/keyward.example.json")

    /// Every field a setting sets, as text, so two `Settings` can be compared.
    static func fields(_ s: Settings) -> [String: String] {
        [
            "data_dir": s.dataDirectory, "database_url": s.databaseURL ?? "-", "master_key_file": s.effectiveMasterKeyFile,
            "host": s.host, "https_port": "\(s.httpsPort)", "http_port": "\(s.httpPort)", "hostname": s.hostnames.joined(separator: ","),
            "public_url": s.publicBaseURL, "trusted_proxy": s.trustedProxies.map(\.description).joined(separator: ","),
            "insecure_http": "\(s.insecureHTTP)", "upstream_url": s.upstreamURL ?? "-", "log_level": s.logLevel, "log_format": s.logFormat.rawValue,
            "max_body_bytes": "\(s.maxBodyBytes)", "mypos_path": s.myposPath, "mypos_test_path": s.myposTestPath,
            "acme_directory": s.acmeDirectory, "acme_ca_bundle": s.acmeCABundle ?? "-", "acme_email": s.acmeEmail ?? "-",
            "acme_eab_kid": s.acmeEABKeyID ?? "-", "acme_eab_hmac_key": s.acmeEABHMACKey ?? "-",
            "certificate_check_seconds": "\(s.certificateCheckSeconds)", "metrics_token": s.metricsToken ?? "-",
            "password_hash_cost": "\(s.passwordHashCost)", "smtp_host": s.smtpHost ?? "-", "smtp_port": "\(s.smtpPort)",
            "smtp_security": s.smtpSecurity.rawValue, "smtp_username": s.smtpUsername ?? "-", "smtp_password": s.smtpPassword ?? "-",
            "smtp_from": s.smtpFrom ?? "-", "smtp_ca_bundle": s.smtpCABundle ?? "-",
            "webhook_allowed_networks": s.webhookAllowedNetworks.map(\.description).joined(separator: ","),
            "reserved_domains": s.reservedDomains.joined(separator: ","),
            "verification_allowed_networks": s.verificationAllowedNetworks.map(\.description).joined(separator: ","),
            "verification_recheck_hours": "\(s.verificationRecheckHours)", "secret_scanning_keys": s.secretScanningKeys ?? "-",
            "secret_scanning_max_body_bytes": "\(s.secretScanningMaxBodyBytes)", "secret_scanning_max_tokens": "\(s.secretScanningMaxTokens)",
            "rate_limit_live": "\(s.rateLimitLive)", "rate_limit_test": "\(s.rateLimitTest)",
            "idle_timeout_seconds": "\(s.listenerLimits.idleTimeout)", "header_read_timeout_seconds": "\(s.listenerLimits.headerReadTimeout)",
            "tls_handshake_timeout_seconds": "\(s.listenerLimits.tlsHandshakeTimeout)", "max_connections": "\(s.listenerLimits.maxConnections)",
            "refused_auth_per_address_per_second": "\(s.refusedAuthPerAddressPerSecond)", "refused_auth_pause_ms": "\(s.refusedAuthPause)",
            "device_session_max_open": "\(s.deviceSessionLimits.maxOpenPerMerchant)",
            "device_session_unused_seconds": "\(s.deviceSessionLimits.unusedLifetime)",
            "signed_form_max_body_bytes": "\(s.signedFormMaxBodyBytes)", "pbkdf2_max_iterations": "\(s.pbkdf2MaxIterations)",
            "heavy_work_threads": "\(s.heavyWorkThreads)", "heavy_work_queue": "\(s.heavyWorkQueue)",
            "sqlite_busy_timeout_ms": "\(s.sqliteBusyTimeout)",
        ]
    }

    @Test func tableNamesAreUniqueAndCoverEveryField() {
        #expect(Set(Settings.names).count == Settings.names.count)
        // Every setting but verification_dns_resolver (its default is read from /etc/resolv.conf) has a field above.
        #expect(Set(Self.fields(Settings()).keys) == Set(Settings.names).subtracting(["verification_dns_resolver"]))
        for spec in Settings.table {
            #expect(spec.environmentName == "KEYWARD_" + spec.name.uppercased())
            #expect(!spec.summary.isEmpty, "\(spec.name) needs a description")
            if spec.isSecret { #expect(spec.defaultValue == nil, "a secret has no default to print: \(spec.name)") }
        }
    }

    /// The table's defaults are the defaults `Settings` has, and the defaults given explicitly change nothing.
    @Test func tableDefaultsAreTheDefaultsOfSettings() throws {
        let resolved = Self.fields(try Settings.resolve(flags: [:], environment: [:]))
        #expect(resolved == Self.fields(Settings()))
        var environment: [String: String] = [:]
        for spec in Settings.table { environment[spec.environmentName] = spec.defaultValue }
        #expect(Self.fields(try Settings.resolve(flags: [:], environment: environment)) == resolved)
    }

    @Test func readmeSettingsTableIsTheCodesTable() throws {
        let readme = try String(contentsOf: Self.root.appendingPathComponent("README.md"), encoding: .utf8)
        let begin = "<!-- settings:begin (generated from Settings.table; SettingsTableTests checks it) -->\n"
        let end = "\n<!-- settings:end -->"
        let proposed = "/tmp/readme-settings.md"
        try Data((begin + Settings.readmeTable + end + "\n").utf8).write(to: URL(fileURLWithPath: proposed))
        guard let start = readme.range(of: begin), let stop = readme.range(of: end, range: start.upperBound..<readme.endIndex) else {
            Issue.record("README has no settings table between its markers; proposed section in \(proposed)")
            return
        }
        #expect(
            String(readme[start.upperBound..<stop.lowerBound]) == Settings.readmeTable,
            "README's settings table differs from Settings.table: copy \(proposed) over it"
        )
    }

    @Test func exampleConfigFileListsEverySettingAtItsDefault() throws {
        try Data(Settings.exampleConfigFile.utf8).write(to: URL(fileURLWithPath: "/tmp/keyward.example.json"))
        let text = try String(contentsOf: Self.example, encoding: .utf8)
        #expect(text == Settings.exampleConfigFile, "docs/keyward.example.json differs from Settings.table: see /tmp/keyward.example.json")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(Set(object.keys) == Set(Settings.names))
        // Loading it (the --config path) gives the defaults.
        let loaded = try Settings.resolve(flags: ["config": Self.example.path], environment: [:])
        #expect(Self.fields(loaded) == Self.fields(Settings()))
        let fromEnvironment = try Settings.resolve(flags: [:], environment: ["KEYWARD_CONFIG_FILE": Self.example.path, "KEYWARD_HTTPS_PORT": "9443"])
        #expect(fromEnvironment.httpsPort == 9443)
    }

    @Test func helpListsEverySettingWithItsEnvironmentNameAndDefault() {
        let help = Settings.helpText
        for spec in Settings.table {
            #expect(help.contains("  \(spec.flagName) \(spec.placeholder)"), "\(spec.name) missing from --help")
            let unwrapped = help.replacingOccurrences(of: "\n        ", with: " ")
            #expect(unwrapped.contains("env \(spec.environmentName); default: \(spec.defaultText)"), "\(spec.name)'s default missing from --help")
        }
        #expect(help.contains("--smtp-password <text> [secret]"))
        #expect(help.split(separator: "\n").filter { $0.hasPrefix("  ") }.allSatisfy { $0.count < 80 }, "argument-parser would re-wrap longer lines")
        #expect(help.contains("--https-port <int>") && help.contains("env KEYWARD_HTTPS_PORT; default: 8443"))
    }
}
