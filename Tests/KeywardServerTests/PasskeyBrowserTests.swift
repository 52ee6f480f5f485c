import Foundation
import Hummingbird
import KeywardCore
import KeywardCrypto
import KeywardServer
import KeywardTestSupport
import ServiceLifecycle
import Testing

/// Passkeys in a real browser: headless Chromium with its virtual authenticator (WebDriver), driven by
/// `Tests/peers/passkey_browser.py` against a running HTTPS server whose own origin is the relying
/// party. The owner adds a passkey through the cabinet's one script, then signs in with it alone.
/// Screenshots: `.build/screenshots/passkeys`.
@Suite(.closesStores) struct PasskeyBrowserTests {
    @Test func anOwnerAddsAPasskeyInChromiumAndSignsInWithIt() async throws {
        // The origin WebAuthn checks is the server's own (https://localhost:<port>): the port is chosen
        // first so the page the browser opens and the relying party agree.
        let port = try Pebble.freePorts(1)[0]
        let settings = try Harness.isolatedSettings {
            $0.httpsPort = port
            $0.host = "127.0.0.1"
        }
        let services = try await Harness.services(settings)
        // TOTP enrolled a step back, so the browser's current code is new to the server.
        let owner = try await SoftAuthenticator.memberWithTOTP(services, role: .owner, at: Date().addingTimeInterval(-30))
        let app = try await Harness.app(settings)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.runService() }
            try await waitForPort(port)
            let base = "https://localhost:\(port)"
            let output = try await Shell.runDetached(
                "/usr/bin/env",
                [
                    "python3", Peers.passkeyBrowser, base, owner.email, owner.password, owner.secret,
                    Peers.screenshots + "/passkeys",
                ]
            )
            group.cancelAll()
            let report = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])
            #expect(report["failed"] == nil, "\(report)")
            #expect((report["checks"] as? [String])?.count ?? 0 >= 11)
        }
        let passkeys = try await services.passkeys.list(userID: owner.userID)
        #expect(passkeys.map(\.name) == ["Chromium <virtual>"] && passkeys.first?.userVerified == true && passkeys.first?.lastUsedAt != nil)
    }

    private func waitForPort(_ port: Int) async throws {
        for _ in 0..<100 {
            if (try? Shell.run("/usr/bin/env", ["python3", "-c", "import socket; socket.create_connection(('127.0.0.1', \(port)), 1).close()"]))
                != nil
            {
                return
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("the server did not start listening on \(port)")
    }
}
