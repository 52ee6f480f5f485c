import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KeywardCore
import KeywardCrypto
import KeywardServer
import KeywardTestSupport
import Testing

/// One permission check for the cabinet and the management API, as a role x route matrix: every route
/// below states, independently of the code, the permission it needs; each role (or restricted key)
/// reaches exactly the routes its permissions cover and gets 403 `insufficient_permissions` elsewhere.
@Suite(.closesStores) struct PermissionMatrixTests {
    typealias Browser = CabinetTests.Browser

    /// A cabinet route and what it needs.
    struct CabinetRoute: Sendable {
        let method: HTTPRequest.Method
        let path: String
        let form: [String: String]
        let needs: Set<Permission>
    }

    static let cabinetRoutes: [CabinetRoute] = [
        .init(method: .get, path: "/cabinet/keys?mode=test", form: [:], needs: [.keysRead]),
        .init(method: .get, path: "/cabinet/keys?mode=live", form: [:], needs: [.keysRead, .keysLive]),
        .init(method: .get, path: "/cabinet/keys/check?mode=test", form: [:], needs: [.keysRead]),
        .init(
            method: .post,
            path: "/cabinet/keys",
            form: ["mode": "test", "name": "matrix", "access": "restricted", "permission.keys.read": "on"],
            needs: [.keysWrite]
        ),
        .init(
            method: .post,
            path: "/cabinet/keys",
            form: ["mode": "live", "name": "matrix", "access": "restricted", "permission.keys.read": "on"],
            needs: [.keysWrite, .keysLive]
        ),
        .init(method: .post, path: "/cabinet/credentials/stores", form: ["mode": "test", "dialect": "mypos", "name": "matrix"], needs: [.keysWrite]),
        .init(method: .post, path: "/cabinet/credentials/payment-keys", form: ["mode": "test", "name": "matrix"], needs: [.keysWrite]),
        .init(method: .get, path: "/cabinet/certificates", form: [:], needs: [.certificatesRead]),
        .init(
            method: .post,
            path: "/cabinet/certificates",
            form: ["mode": "test", "pem": "not a certificate"],
            needs: [.certificatesRead, .certificatesWrite]
        ),
        .init(method: .get, path: "/cabinet/channels/new", form: [:], needs: [.certificatesWrite]),
        .init(method: .post, path: "/cabinet/channels/chn_0000000000000000000000/verify", form: ["mode": "test"], needs: [.certificatesWrite]),
        .init(
            method: .post,
            path: "/cabinet/apple-pay/requests",
            form: ["mode": "test", "type": "apple_pay_payment_processing", "name": "merchant.matrix"],
            needs: [.certificatesWrite]
        ),
        .init(method: .get, path: "/cabinet/team", form: [:], needs: [.teamManage]),
        .init(method: .post, path: "/cabinet/team/invite", form: ["email": "new@matrix.example", "role": "viewer"], needs: [.teamManage]),
        .init(method: .post, path: "/cabinet/team/roles", form: ["name": "Readers", "permission.keys.read": "on"], needs: [.teamManage]),
        .init(method: .get, path: "/cabinet/audit", form: [:], needs: [.auditRead]),
        .init(method: .get, path: "/cabinet/settings", form: [:], needs: [.settingsWrite]),
        .init(method: .post, path: "/cabinet/settings", form: ["rotation_days": "90", "allowed_ips": ""], needs: [.settingsWrite]),
        .init(method: .post, path: "/cabinet/settings/webhook", form: ["url": "https://matrix.example/hook"], needs: [.settingsWrite]),
    ]

    @Test(arguments: DefaultRole.allCases)
    func eachRoleReachesExactlyTheCabinetRoutesItsPermissionsCover(role: DefaultRole) async throws {
        let clock = TestClock()
        let settings = Harness.settings()
        let services = try await Harness.services(settings, clock: clock.clock)
        let (email, password, _, totp) = try await CabinetKeyActionsTests.enrolled(services, role: role, clock: clock)
        let app = try await Harness.app(settings, clock: clock.clock)
        _ = try await app.test(.router) { client in
            let browser = try await CabinetKeysTests.signIn(client, services, email: email, password: password, totp: totp, at: clock.clock.now())
            let csrf = try #require(Browser.csrf(String(buffer: try await browser.send(client, .get, "/cabinet").body)))
            for route in Self.cabinetRoutes {
                let response = try await browser.send(
                    client,
                    route.method,
                    route.path,
                    form: route.method == .post ? route.form.merging(["csrf": csrf]) { a, _ in a } : nil
                )
                let allowed = route.needs.isSubset(of: role.permissions)
                if allowed {
                    #expect(response.status != .forbidden && response.status.code < 500, "\(role) \(route.method) \(route.path): \(response.status)")
                } else {
                    #expect(
                        response.status == .forbidden && String(buffer: response.body).contains("lacks"),
                        "\(role) \(route.method) \(route.path): \(response.status)"
                    )
                }
            }
        }
    }

    /// A management API route and what it needs.
    struct APIRoute: Sendable {
        let method: HTTPRequest.Method
        let path: String
        let json: String?
        let needs: Set<Permission>
    }

    static let apiRoutes: [APIRoute] = [
        .init(method: .get, path: "/v1/manage/keys", json: nil, needs: [.keysRead]),
        .init(method: .post, path: "/v1/manage/keys", json: #"{"name":"matrix","permissions":["keys.read"]}"#, needs: [.keysWrite]),
        .init(method: .get, path: "/v1/manage/payment-keys", json: nil, needs: [.keysRead]),
        .init(method: .get, path: "/v1/manage/signing-keys", json: nil, needs: [.keysRead]),
        .init(method: .get, path: "/v1/manage/stores", json: nil, needs: [.keysRead]),
        .init(method: .get, path: "/v1/manage/jwks", json: nil, needs: [.keysRead]),
        .init(method: .get, path: "/v1/manage/device-sessions", json: nil, needs: [.keysRead]),
        .init(method: .get, path: "/v1/manage/certificates", json: nil, needs: [.certificatesRead]),
        .init(method: .get, path: "/v1/manage/channels", json: nil, needs: [.certificatesRead]),
        .init(method: .post, path: "/v1/manage/channels", json: #"{"name":"x"}"#, needs: [.certificatesWrite]),
        .init(method: .post, path: "/v1/manage/channels/chn_0000000000000000000000/verify", json: nil, needs: [.certificatesWrite]),
        .init(method: .get, path: "/v1/manage/webhook", json: nil, needs: [.settingsWrite]),
        .init(method: .get, path: "/v1/manage/settings", json: nil, needs: [.settingsWrite]),
        .init(method: .get, path: "/v1/manage/audit", json: nil, needs: [.auditRead]),
        .init(method: .get, path: "/v1/manage/audit/export", json: nil, needs: [.auditRead]),
    ]

    @Test(arguments: [
        ["keys.read"], ["keys.read", "keys.write"], ["certificates.read"], ["certificates.read", "certificates.write"],
        ["audit.read"], ["settings.write"], ["payments.write"],
    ])
    func restrictedKeysReachExactlyTheManagementRoutesTheirPermissionsCover(permissions: [String]) async throws {
        let settings = Harness.settings()
        let services = try await Harness.services(settings)
        let merchant = try await services.merchants.create(name: "Matrix")
        let key = try await services.secretKeys.create(
            merchantID: merchant.id,
            mode: .test,
            options: .init(permissions: permissions),
            by: .platformOperator
        )
        let granted = Set(permissions.compactMap(Permission.init(rawValue:)))
        await services.store.shutdown()
        let app = try await Harness.app(settings)
        _ = try await app.test(.router) { client in
            for route in Self.apiRoutes {
                let response = try await client.call(route.method, route.path, key: key.secret, json: route.json)
                if route.path.hasSuffix("/webhook") || route.path.hasSuffix("/settings") {
                    // Merchant-wide state applies to live traffic: a test key never reaches it.
                    response.expectProblem(.forbidden, "live_key_required")
                } else if route.needs.isSubset(of: granted) {
                    #expect(
                        response.status != .forbidden && response.status.code < 500,
                        "\(permissions) \(route.method) \(route.path): \(response.status)"
                    )
                } else {
                    response.expectProblem(.forbidden, "insufficient_permissions")
                }
            }
        }
    }

    @Test func liveObjectsNeedKeysLiveAndNoKeyMintsMoreThanItHas() async throws {
        let settings = Harness.settings()
        let services = try await Harness.services(settings)
        let merchant = try await services.merchants.create(name: "Matrix")
        let liveReader = try await services.secretKeys.create(
            merchantID: merchant.id,
            mode: .live,
            options: .init(permissions: ["keys.read"]),
            by: .platformOperator
        )
        let liveAdmin = try await services.secretKeys.create(
            merchantID: merchant.id,
            mode: .live,
            options: .init(permissions: ["keys.live", "keys.read", "keys.write"]),
            by: .platformOperator
        )
        let testKey = try await services.secretKeys.create(merchantID: merchant.id, mode: .test, options: .init(), by: .platformOperator)
        await services.store.shutdown()
        let app = try await Harness.app(settings)
        _ = try await app.test(.router) { client in
            try await client.call(.get, "/v1/manage/keys", key: liveReader.secret) { $0.expectProblem(.forbidden, "insufficient_permissions") }
            try await client.call(.get, "/v1/manage/keys", key: liveAdmin.secret) { #expect($0.status == .ok) }
            // A restricted key creates keys only within its own permissions, never an unrestricted one: left
            // out, its own permissions are the new key's.
            try await client.call(.post, "/v1/manage/keys", key: liveAdmin.secret, json: #"{"name":"inherits"}"#) { response in
                #expect(response.status == .created)
                #expect(response.json["permissions"] as? [String] == ["keys.live", "keys.read", "keys.write"])
            }
            try await client.call(.post, "/v1/manage/keys", key: liveAdmin.secret, json: #"{"permissions":["payments.write"]}"#) {
                $0.expectProblem(.forbidden, "insufficient_permissions")
            }
            try await client.call(.post, "/v1/manage/keys", key: liveAdmin.secret, json: #"{"permissions":["keys.read"]}"#) {
                #expect($0.status == .created)
            }
            // Merchant settings (the allowlist guards live traffic) change only with a live key.
            try await client.call(.patch, "/v1/manage/settings", key: testKey.secret, json: #"{"allowed_ips":[]}"#) {
                $0.expectProblem(.forbidden, "live_key_required")
            }
            try await client.call(.patch, "/v1/manage/settings", key: liveAdmin.secret, json: #"{"rotation_days":30}"#) {
                $0.expectProblem(.forbidden, "insufficient_permissions")
            }
        }
    }

    @Test func theSettingsEndpointReadsAndChangesWhatTheCabinetShows() async throws {
        let (app, tenant) = try await Harness.appWithTenant()
        _ = try await app.test(.router) { client in
            try await client.call(.get, "/v1/manage/settings", key: tenant.liveKey.secret) { response in
                #expect(response.json["rotation_days"] as? Int == 90 && (response.json["allowed_ips"] as? [String])?.isEmpty == true)
            }
            try await client.call(.patch, "/v1/manage/settings", key: tenant.liveKey.secret, json: #"{"rotation_days":3}"#) {
                $0.expectProblem(.badRequest, "invalid_rotation_days")
            }
            try await client.call(.patch, "/v1/manage/settings", key: tenant.liveKey.secret, json: #"{"allowed_ips":["nope"]}"#) {
                $0.expectProblem(.badRequest, "invalid_cidr")
            }
            try await client.call(.patch, "/v1/manage/settings", key: tenant.liveKey.secret, json: #"{"rotation_days":30,"extra":1}"#) {
                $0.expectProblem(.badRequest, "unknown_field")
            }
            try await client.call(
                .patch,
                "/v1/manage/settings",
                key: tenant.liveKey.secret,
                json: #"{"rotation_days":30,"allowed_ips":["198.51.100.0/24"]}"#
            ) { response in
                #expect(response.json["rotation_days"] as? Int == 30 && response.json["allowed_ips"] as? [String] == ["198.51.100.0/24"])
            }
            // In force at once: the router test has no client address, so every key of the merchant is refused.
            try await client.call(.get, "/v1/auth/test", key: tenant.testKey.secret) { $0.expectProblem(.forbidden, "ip_not_allowed") }
        }
    }
}
