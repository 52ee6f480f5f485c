import Configuration
import Foundation
import Synchronization
import Testing

@testable import KeywardServer

/// Where setting values come from (flags, environment, config file, defaults, through swift-configuration),
/// what a bad value gets, and that secret values never show.
@Suite struct SettingsSourcesTests {
    static func configFile(_ json: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("kw-config-\(UUID().uuidString).json").path
        try Data(json.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Each level beats the ones below it, one setting at a time, for an integer, a list and an enum.
    @Test func flagBeatsEnvironmentBeatsFileBeatsDefault() throws {
        let file = try Self.configFile(#"{"https_port": 9443, "reserved_domains": ["file.example"], "smtp_security": "none"}"#)
        let environment = ["KEYWARD_HTTPS_PORT": "6443", "KEYWARD_RESERVED_DOMAINS": "env.example", "KEYWARD_SMTP_SECURITY": "tls"]
        let flags = ["config": file, "https_port": "7443", "reserved_domains": "flag.example", "smtp_security": "starttls"]
        let all = try Settings.resolve(flags: flags, environment: environment)
        #expect(all.httpsPort == 7443 && all.reservedDomains == ["flag.example"] && all.smtpSecurity == .starttls)
        let noFlags = try Settings.resolve(flags: ["config": file], environment: environment)
        #expect(noFlags.httpsPort == 6443 && noFlags.reservedDomains == ["env.example"] && noFlags.smtpSecurity == .tls)
        let fileOnly = try Settings.resolve(flags: ["config": file], environment: [:])
        #expect(fileOnly.httpsPort == 9443 && fileOnly.reservedDomains == ["file.example"] && fileOnly.smtpSecurity == SMTPSettings.Security.none)
        let nothing = try Settings.resolve(flags: [:], environment: [:])
        #expect(nothing.httpsPort == 8443 && nothing.reservedDomains.isEmpty && nothing.smtpSecurity == .starttls)
        // The config file may also come from the environment; a flag still wins over it.
        let fileFromEnvironment = try Settings.resolve(flags: ["https_port": "7443"], environment: ["KEYWARD_CONFIG_FILE": file])
        #expect(fileFromEnvironment.httpsPort == 7443 && fileFromEnvironment.reservedDomains == ["file.example"])
    }

    /// Today's config files keep working: quoted numbers, comma-separated lists, JSON booleans.
    @Test func configFileValuesOfAnyJSONTypeAreRead() throws {
        let file = try Self.configFile(
            #"{"https_port": "9443", "trusted_proxy": "10.0.0.0/8, 192.168.0.0/16", "insecure_http": true, "hostname": []}"#
        )
        let settings = try Settings.resolve(flags: ["config": file], environment: [:])
        #expect(settings.httpsPort == 9443 && settings.insecureHTTP && settings.hostnames.isEmpty)
        #expect(settings.trustedProxies.map(\.description) == ["10.0.0.0/8", "192.168.0.0/16"])
    }

    /// Today's `keyward serve` command lines (README, Benchmarks/, .ci/) mean what they meant.
    @Test func commandLineArgumentsBecomeSettingFlags() throws {
        let benchmark = try Settings.flags(fromArguments: [
            "--insecure-http", "--http-port", "18080", "--https-port", "18443", "--log-level", "warning",
        ])
        #expect(benchmark == ["insecure_http": "true", "http_port": "18080", "https_port": "18443", "log_level": "warning"])
        let repeated = try Settings.flags(fromArguments: [
            "--hostname", "a.example", "--hostname=b.example", "--insecure-http", "false", "--smtp_port", "2525",
        ])
        #expect(repeated == ["hostname": "a.example,b.example", "insecure_http": "false", "smtp_port": "2525"])
        let settings = try Settings.resolve(flags: repeated, environment: ["KEYWARD_INSECURE_HTTP": "true"])
        #expect(settings.hostnames == ["a.example", "b.example"] && !settings.insecureHTTP && settings.smtpPort == 2525)
        // Settings that had no flag before have one now.
        #expect(try Settings.flags(fromArguments: ["--password-hash-cost", "4"]) == ["password_hash_cost": "4"])
        for (arguments, mention) in [(["--htps-port", "1"], "--htps-port"), (["--https-port"], "--https-port"), (["8443"], "8443")] {
            #expect { try Settings.flags(fromArguments: arguments) } throws: { String(describing: $0).contains(mention) }
        }
    }

    /// A non-number for a number, a negative count, an unknown enum value: an error naming the setting,
    /// from every source, never a crash.
    @Test(arguments: ["flag", "environment", "file"])
    func badValuesNameTheSetting(source: String) throws {
        var cases: [(String, String)] = []
        for spec in Settings.table {
            switch spec.kind {
            case .integer: cases += [(spec.name, "abc"), (spec.name, "-1"), (spec.name, "1.5"), (spec.name, "99999999999999999999")]
            case .choice: cases.append((spec.name, "bogus"))
            case .flag: cases.append((spec.name, "maybe"))
            case .text, .list: continue
            }
        }
        #expect(cases.count > 90)
        for (name, value) in cases {
            let flags: [String: String]
            let environment: [String: String]
            switch source {
            case "flag": (flags, environment) = ([name: value], [:])
            case "environment": (flags, environment) = ([:], ["KEYWARD_" + name.uppercased(): value])
            default: (flags, environment) = (["config": try Self.configFile("{\"\(name)\": \"\(value)\"}")], [:])
            }
            #expect { try Settings.resolve(flags: flags, environment: environment) } throws: { error in
                error is SettingsError && String(describing: error).contains(name)
            }
        }
    }

    @Test func badConfigFilesAreRefusedWithAReason() throws {
        for (json, mention) in [
            (#"{"https_port": {"nested": 1}}"#, "https_port"), (#"{"https_port": null}"#, "config file"),
            (#"["https_port"]"#, "JSON object"), (#"{"https_port": 1,"#, "JSON object"),
            (#"{"max_connections": 1.5}"#, "max_connections"), (#"{"htps_port": 1}"#, "htps_port"),
        ] {
            let file = try Self.configFile(json)
            #expect { try Settings.resolve(flags: ["config": file], environment: [:]) } throws: { error in
                error is SettingsError && String(describing: error).contains(mention)
            }
        }
    }

    /// Secret values reach swift-configuration's access reporting redacted, whatever their source, and
    /// never appear in --help or in an error about them.
    @Test func secretValuesAreNeverShown() throws {
        let reporter = RecordingReporter()
        let file = try Self.configFile(#"{"smtp_password": "file-secret-3", "smtp_username": "relay-user"}"#)
        _ = try Settings.resolve(
            flags: ["config": file, "metrics_token": "flag-secret-1"],
            environment: [
                "KEYWARD_ACME_EAB_HMAC_KEY": "env-secret-2", "KEYWARD_ACME_EAB_KID": "kid-1",
                "KEYWARD_DATABASE_URL": "postgres://u:db-secret-4@127.0.0.1/k",
            ],
            accessReporter: reporter
        )
        let log = reporter.lines.withLock { $0.joined(separator: "\n") }
        #expect(log.contains("relay-user") && log.contains("kid-1"), "the reporter saw the reads")
        for secret in ["flag-secret-1", "env-secret-2", "file-secret-3", "db-secret-4"] {
            #expect(!log.contains(secret), "\(secret) reached the access report")
            #expect(!Settings.helpText.contains(secret))
        }
        // An error about a secret setting names it, not its value.
        #expect { try Settings.resolve(flags: ["acme_eab_hmac_key": "env-secret-2"], environment: [:]) } throws: { error in
            String(describing: error).contains("acme_eab_hmac_key") && !String(describing: error).contains("env-secret-2")
        }
    }
}

/// Keeps every access event as text.
final class RecordingReporter: AccessReporter {
    let lines = Mutex<[String]>([])
    func report(_ event: AccessEvent) {
        let line = "\(event) \(event.providerResults.map { "\($0.providerName): \($0.result)" })"
        lines.withLock { $0.append(line) }
    }
}
