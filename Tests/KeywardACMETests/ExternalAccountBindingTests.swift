import Foundation
import KeywardACME
import KeywardCrypto
import KeywardTestSupport
import Testing

/// The ACME client against pebble when the CA requires external account binding (RFC 8555 §7.3.4).
@Suite struct ExternalAccountBindingTests {
    @Test func externalAccountBindingIsSentWhenTheCAAsksForIt() async throws {
        let pebble = try await Pebble.start(eab: true)
        defer { pebble.stop() }
        let configuration = ACMEConfiguration(
            directoryURL: pebble.directoryURL,
            caBundlePEM: try String(contentsOfFile: pebble.caBundlePath, encoding: .utf8)
        )
        let without = try ACMEClient(configuration: configuration, accountKey: ACMEAccountKey())
        await #expect { try await without.registerAccount() } throws: { ($0 as? ACMEError)?.code.rawValue == "acme_eab_required" }
        await without.shutdown()

        var withEAB = configuration
        withEAB.externalAccountKeyID = "kid-1"
        withEAB.externalAccountHMACKey = Array(try #require(KeywardCrypto.Base64URL.decode(Pebble.eabHMACKey)))
        let client = try ACMEClient(configuration: withEAB, accountKey: ACMEAccountKey())
        let url = try await client.registerAccount()
        #expect(url.hasPrefix("https://127.0.0.1"))
        await client.shutdown()

        var wrongKey = withEAB
        wrongKey.externalAccountHMACKey = Array(repeating: 7, count: 32)
        let forged = try ACMEClient(configuration: wrongKey, accountKey: ACMEAccountKey())
        await #expect { try await forged.registerAccount() } throws: { ($0 as? ACMEError)?.code.rawValue == "acme_rejected" }
        await forged.shutdown()
    }
}
