import Foundation
import KeywardServer
import Testing

/// The limit settings: defaults, environment values, and out-of-range values refused with the setting's name.
@Suite struct LimitSettingsTests {
    @Test func limitsAreReadAndOutOfRangeValuesRefused() throws {
        let defaults = try Settings.resolve(flags: [:], environment: [:])
        #expect(defaults.listenerLimits.idleTimeout == .seconds(60))
        #expect(defaults.listenerLimits.maxConnections == 8192)
        #expect(defaults.refusedAuthPerAddressPerSecond == 20 && defaults.refusedAuthPause == .seconds(1))
        #expect(defaults.signedFormMaxBodyBytes == 64 * 1024)
        #expect(defaults.deviceSessionLimits.maxOpenPerMerchant == 1000)
        let set = try Settings.resolve(
            flags: [:],
            environment: [
                "KEYWARD_IDLE_TIMEOUT_SECONDS": "5", "KEYWARD_HEADER_READ_TIMEOUT_SECONDS": "3", "KEYWARD_TLS_HANDSHAKE_TIMEOUT_SECONDS": "4",
                "KEYWARD_MAX_CONNECTIONS": "50", "KEYWARD_SIGNED_FORM_MAX_BODY_BYTES": "2048", "KEYWARD_PBKDF2_MAX_ITERATIONS": "100000",
                "KEYWARD_HEAVY_WORK_THREADS": "1", "KEYWARD_HEAVY_WORK_QUEUE": "4", "KEYWARD_DEVICE_SESSION_MAX_OPEN": "10",
                "KEYWARD_DEVICE_SESSION_UNUSED_SECONDS": "60", "KEYWARD_REFUSED_AUTH_PER_ADDRESS_PER_SECOND": "5",
                "KEYWARD_REFUSED_AUTH_PAUSE_MS": "0",
            ]
        )
        #expect(set.listenerLimits.idleTimeout == .seconds(5))
        #expect(set.listenerLimits.headerReadTimeout == .seconds(3))
        #expect(set.listenerLimits.tlsHandshakeTimeout == .seconds(4))
        #expect(set.listenerLimits.maxConnections == 50)
        #expect(set.signedFormMaxBodyBytes == 2048)
        #expect(set.pbkdf2MaxIterations == 100_000)
        #expect(set.heavyWorkThreads == 1 && set.heavyWorkQueue == 4)
        #expect(set.deviceSessionLimits.maxOpenPerMerchant == 10 && set.deviceSessionLimits.unusedLifetime == 60)
        #expect(set.refusedAuthPerAddressPerSecond == 5 && set.refusedAuthPause == .zero)
        for (name, value) in [
            ("KEYWARD_MAX_CONNECTIONS", "0"), ("KEYWARD_IDLE_TIMEOUT_SECONDS", "forever"), ("KEYWARD_HEAVY_WORK_QUEUE", "-1"),
            ("KEYWARD_REFUSED_AUTH_PAUSE_MS", "-5"), ("KEYWARD_REFUSED_AUTH_PER_ADDRESS_PER_SECOND", "0"),
        ] {
            #expect(throws: SettingsError.self) { _ = try Settings.resolve(flags: [:], environment: [name: value]) }
        }
    }
}
