import Foundation
import KeywardServer
import Testing

@Suite struct SettingsTests {
    @Test func flagsBeatEnvironmentBeatFileBeatDefaults() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("kw-config-\(UUID().uuidString).json").path
        try Data(#"{"https_port": 9443, "http_port": 9080, "host": "0.0.0.0", "trusted_proxy": ["10.0.0.0/8"], "insecure_http": true}"#.utf8)
            .write(to: URL(fileURLWithPath: file))
        let settings = try Settings.resolve(
            flags: ["config": file, "https_port": "7443"],
            environment: ["KEYWARD_HTTP_PORT": "7080", "KEYWARD_HTTPS_PORT": "6443"]
        )
        #expect(settings.httpsPort == 7443)  // flag
        #expect(settings.httpPort == 7080)  // environment
        #expect(settings.host == "0.0.0.0")  // file
        #expect(settings.insecureHTTP)  // file
        #expect(settings.trustedProxies.map(\.description) == ["10.0.0.0/8"])
        #expect(settings.dataDirectory == "./.keyward")  // default
        #expect(settings.effectiveMasterKeyFile == "./.keyward/master.key")
        #expect(settings.sqlitePath == "./.keyward/keyward.sqlite")
    }

    @Test func linksAreBuiltFromThePublicURL() throws {
        let given = try Settings.resolve(flags: ["public_url": "https://keys.example.com/"], environment: [:])
        #expect(given.publicBaseURL == "https://keys.example.com")
        let fallback = try Settings.resolve(flags: ["hostname": "api.shop.example", "https_port": "443"], environment: [:])
        #expect(fallback.publicBaseURL == "https://api.shop.example")
    }

    @Test func badValuesAreNamed() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("kw-config-\(UUID().uuidString).json").path
        try Data(#"{"http_prot": 1}"#.utf8).write(to: URL(fileURLWithPath: file))
        let cases: [([String: String], [String: String], String)] = [
            (["https_port": "99999"], [:], "https_port"),
            ([:], ["KEYWARD_TRUSTED_PROXY": "10.0.0.0/99"], "trusted_proxy"),
            ([:], ["KEYWARD_UPSTREAM_URL": "ftp://x"], "upstream_url"),
            ([:], ["KEYWARD_INSECURE_HTTP": "maybe"], "insecure_http"),
            (["config": file], [:], "http_prot"),
            (["config": "/nonexistent/keyward.json"], [:], "cannot be read"),
            ([:], ["KEYWARD_SMTP_HOST": "mail.example"], "smtp_from"),
            ([:], ["KEYWARD_SMTP_HOST": "mail.example", "KEYWARD_SMTP_FROM": "k@x.example", "KEYWARD_SMTP_SECURITY": "ssl"], "smtp_security"),
            ([:], ["KEYWARD_SMTP_PORT": "70000"], "smtp_port"),
            // Mailed links must not be built from a request's Host header: a relay needs the public URL.
            ([:], ["KEYWARD_SMTP_HOST": "mail.example", "KEYWARD_SMTP_FROM": "k@x.example"], "public_url"),
            (["public_url": "http://keys.example.com"], [:], "public_url"),
            (["public_url": "https://keys.example.com/cabinet?x=1"], [:], "public_url"),
        ]
        for (flags, environment, mention) in cases {
            #expect { try Settings.resolve(flags: flags, environment: environment) } throws: { error in
                String(describing: error).contains(mention)
            }
        }
    }
}
