import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KeywardCore
import KeywardServer
import Testing

/// An address that keeps presenting bad credentials is slowed down; verified callers never are.
/// The services' clock stands still in these tests, so no budget refills while they run: the third
/// refusal from one address is the first one over a budget of two, however slowly the machine runs, and a
/// paused refusal says so with `Retry-After` (no wall-clock upper bound anywhere).
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
        Application(
            router: buildRouter(services, listener: .plainHTTP),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            logger: Harness.logger
        )
    }

    static func forwarded(_ address: String) -> HTTPFields {
        [.init("X-Forwarded-For")!: address, .init("X-Forwarded-Proto")!: "https"]
    }

    /// A call with a key that does not exist from `address`: refused with its reason. Returns how long it
    /// took and whether it was answered as a paused refusal (`Retry-After`).
    @discardableResult
    static func refusal(_ client: some TestClientProtocol, from address: String) async throws -> (took: Duration, paused: Bool) {
        let started = ContinuousClock.now
        let response = try await client.call(.get, "/v1/auth/test", key: "sk_test_" + String(repeating: "x", count: 40), headers: forwarded(address))
        {
            $0.expectProblem(.unauthorized, "invalid_key")
        }
        return (ContinuousClock.now - started, response.headers[.retryAfter] != nil)
    }

    @Test func refusalsOverTheBudgetWaitWhileGoodKeysAndOtherAddressesDoNot() async throws {
        let pause = Duration.seconds(2)
        let services = try await Self.services(pause: pause)
        let tenant = try await Harness.tenant(services)
        _ = try await Self.app(services).test(.live) { client in
            #expect(try await Self.refusal(client, from: "2001:db8:1:2::1").paused == false)
            #expect(try await Self.refusal(client, from: "2001:db8:1:2::2").paused == false)
            // Another host of the same /64 shares its budget: the third refusal waits the pause and says so.
            let third = try await Self.refusal(client, from: "2001:db8:1:2::99")
            #expect(third.paused && third.took >= pause)
            // A good key from that very address is answered as ever; another /64 and another IPv4 address
            // have budgets of their own.
            try await client.call(.get, "/v1/auth/test", key: tenant.testKey.secret, headers: Self.forwarded("2001:db8:1:2::1")) {
                #expect($0.status == .ok && $0.headers[.retryAfter] == nil)
            }
            #expect(try await Self.refusal(client, from: "2001:db8:1:3::1").paused == false)
            #expect(try await Self.refusal(client, from: "198.51.100.7").paused == false)
            #expect(try await Self.refusal(client, from: "2001:db8:1:2::1").paused, "the /64's budget stays spent (the clock stands still)")
        }
        await services.store.shutdown()
    }

    @Test func technicalSessionsCountToo() async throws {
        let pause = Duration.seconds(3)
        let services = try await Self.services(pause: pause)
        _ = try await Self.app(services).test(.live) { client in
            // An Alliance device id that does not exist, three times: the third waits.
            var durations: [Duration] = []
            var paused: [Bool] = []
            for _ in 0..<3 {
                let started = ContinuousClock.now
                var headers = Self.forwarded("203.0.113.9")
                headers[.init("x-api_version")!] = "1"
                headers[.init("x-device_id")!] = "dev_unknown"
                headers[.init("x-refresh_token")!] = "nope"
                let response = try await client.execute(uri: "/api-gateway/v1/accounts", method: .get, headers: headers, body: nil) { $0 }
                #expect(response.status == .unauthorized)
                durations.append(ContinuousClock.now - started)
                paused.append(response.headers[.retryAfter] == "3")
            }
            #expect(paused == [false, false, true])
            #expect(durations[2] >= pause, "\(durations)")
        }
        await services.store.shutdown()
    }
}
