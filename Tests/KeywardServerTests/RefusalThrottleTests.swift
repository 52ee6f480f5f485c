import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KeywardCore
import KeywardServer
import Synchronization
import Testing

/// An address that keeps presenting bad credentials is slowed down; verified callers never are.
/// The services' clock stands still in these tests, so no budget refills while they run: the third
/// refusal from one address is the first one over a budget of two, however slowly the machine runs.
@Suite(.closesStores) struct RefusalThrottleTests {
    static func services(pause: Duration) async throws -> KeywardServices {
        let settings = Harness.settings {
            $0.trustedProxies = [try! IPNetwork(parsing: "127.0.0.1/32")]
            $0.refusedAuthPerAddressPerSecond = 2
            $0.refusedAuthPause = pause
        }
        let frozen = Date()
        return try await Harness.services(settings, clock: KeywardClock { frozen })
    }

    static func app(_ services: KeywardServices) -> some ApplicationProtocol {
        Application(router: buildRouter(services, listener: .plainHTTP), configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: Harness.logger)
    }

    static func forwarded(_ address: String) -> HTTPFields {
        [.init("X-Forwarded-For")!: address, .init("X-Forwarded-Proto")!: "https"]
    }

    /// A call with a key that does not exist from `address`: refused with its reason; returns how long it took.
    @discardableResult
    static func refusal(_ client: some TestClientProtocol, from address: String) async throws -> Duration {
        let started = ContinuousClock.now
        try await client.call(.get, "/v1/auth/test", key: "sk_test_" + String(repeating: "x", count: 40), headers: forwarded(address)) {
            $0.expectProblem(.unauthorized, "invalid_key")
        }
        return ContinuousClock.now - started
    }

    @Test func refusalsOverTheBudgetWaitWhileGoodKeysAndOtherAddressesDoNot() async throws {
        let pause = Duration.seconds(10)
        let services = try await Self.services(pause: pause)
        let tenant = try await Harness.tenant(services)
        let pausedOneAnswered = Flag()
        _ = try await Self.app(services).test(.live) { flood in
            try await Self.refusal(flood, from: "2001:db8:1:2::1")
            try await Self.refusal(flood, from: "2001:db8:1:2::2")
            // Another host of the same /64 shares its budget: the third refusal waits the pause.
            async let third = { () async throws -> Duration in
                let waited = try await Self.refusal(flood, from: "2001:db8:1:2::99")
                pausedOneAnswered.set()
                return waited
            }()
            try await Task.sleep(for: .milliseconds(500))
            _ = try await Self.app(services).test(.live) { other in
                // Meanwhile (on another connection): a good key from that very address, and refusals from
                // another /64 and another IPv4 address, are answered while the paused one still waits.
                try await other.call(.get, "/v1/auth/test", key: tenant.testKey.secret, headers: Self.forwarded("2001:db8:1:2::1")) { #expect($0.status == .ok) }
                try await Self.refusal(other, from: "2001:db8:1:3::1")
                try await Self.refusal(other, from: "198.51.100.7")
                let answeredFirst = !pausedOneAnswered.isSet
                #expect(answeredFirst, "answered before the paused refusal")
            }
            #expect(try await third >= pause)
        }
        await services.store.shutdown()
    }

    @Test func technicalSessionsCountToo() async throws {
        let pause = Duration.seconds(3)
        let services = try await Self.services(pause: pause)
        _ = try await Self.app(services).test(.live) { client in
            // An Alliance device id that does not exist, three times: the third waits.
            var durations: [Duration] = []
            for _ in 0..<3 {
                let started = ContinuousClock.now
                var headers = Self.forwarded("203.0.113.9")
                headers[.init("x-api_version")!] = "1"
                headers[.init("x-device_id")!] = "dev_unknown"
                headers[.init("x-refresh_token")!] = "nope"
                let response = try await client.execute(uri: "/api-gateway/v1/accounts", method: .get, headers: headers, body: nil) { $0 }
                #expect(response.status == .unauthorized)
                durations.append(ContinuousClock.now - started)
            }
            #expect(durations[2] >= pause, "\(durations)")
        }
        await services.store.shutdown()
    }
}

/// A flag one task sets and another reads.
final class Flag: Sendable {
    private let value = Mutex(false)
    func set() { value.withLock { $0 = true } }
    var isSet: Bool { value.withLock { $0 } }
}
