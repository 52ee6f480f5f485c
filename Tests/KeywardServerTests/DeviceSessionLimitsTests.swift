import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KeywardCore
import KeywardServer
import SQLKit
import Testing

/// `authorize_virtual_device` needs no credential but the merchant's service code: a flood of it must
/// not grow the database without bound nor lock the merchant out of the sessions it really uses.
@Suite(.closesStores) struct DeviceSessionLimitsTests {
    static func sessionRows(_ services: KeywardServices, merchantID: String) async throws -> Int {
        struct Count: Decodable { let n: Int64 }
        return Int(
            try await services.store.sql.raw("SELECT COUNT(*) AS n FROM device_sessions WHERE merchant_id = \(bind: merchantID)")
                .first(decoding: Count.self)?.n ?? 0
        )
    }

    @Test func aFloodOfUnauthenticatedSessionsIsCappedAndPruned() async throws {
        let clock = TestClock()
        // A database of its own: pruning works on every merchant's sessions, and this clock runs days
        // ahead, so on a shared PostgreSQL database it would end the sessions other tests are using.
        let settings = try Harness.isolatedSettings {
            $0.deviceSessionLimits.maxOpenPerMerchant = 5
            $0.deviceSessionLimits.unusedLifetime = 600
        }
        let services = try await Harness.services(settings, clock: clock.clock)
        let (tenant, privateJWK, serviceCode) = try await AllianceTests.merchant(services)
        let app = try await Harness.app(settings, clock: clock.clock)
        _ = try await app.test(.router) { client in
            func authorize() async throws -> TestResponse {
                try await client.execute(
                    uri: "/api-gateway/authorize_virtual_device",
                    method: .post,
                    headers: AllianceTests.version,
                    body: ByteBuffer(string: #"{"serviceCode":"\#(serviceCode)"}"#)
                ) { $0 }
            }
            // The merchant opens one session and uses it.
            let session = try await AllianceTests.open(client, serviceCode: serviceCode, privateJWK: privateJWK)
            let device = try #require(session["deviceId"] as? String)
            let refresh = try #require(session["refreshToken"] as? String)
            func useSession() async throws -> TestResponse {
                try await client.execute(
                    uri: "/v1/auth/test",
                    method: .get,
                    headers: [.init("x-api_version")!: "1", .init("x-device_id")!: device, .init("x-refresh_token")!: refresh]
                ) { $0 }
            }
            #expect(try await useSession().status == .ok)

            // Someone who knows the service code floods: four more fit, then every call is refused with a code.
            for _ in 0..<4 { #expect(try await authorize().status == .ok) }
            for _ in 0..<20 { try await authorize().expectProblem(.conflict, "too_many_sessions") }
            #expect(try await Self.sessionRows(services, merchantID: tenant.merchant.id) == 5)

            // Ten minutes on, the flood's never-used sessions stop counting and are pruned; the used one stays and works.
            clock.advance(601)
            #expect(try await authorize().status == .ok)
            #expect(try await services.deviceSessions.prune() == 4)
            #expect(try await Self.sessionRows(services, merchantID: tenant.merchant.id) == 2)
            #expect(try await useSession().status == .ok)

            // A day after expiry even used sessions are gone.
            clock.advance(DeviceSessionService.lifetime + 24 * 3600 + 1)
            try await useSession().expectProblem(.unauthorized, "b_expired_token")
            _ = try await services.deviceSessions.prune()
            #expect(try await Self.sessionRows(services, merchantID: tenant.merchant.id) == 0)
        }
    }
}
