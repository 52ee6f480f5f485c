import Foundation
import Hummingbird
import KeywardCore
import KeywardServer
import Testing

/// Every `/v1` and cabinet route says what it needs where it is registered. This walks the router:
/// a route missing from the table (registered around `ManageRoutes`/`CabinetRoutes`) fails, and the
/// table must equal the reviewed fixture, so any change to who may call what shows up in review.
@Suite(.closesStores) struct RouteTableTests {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/route-requirements.txt")

    @Test func everyManagementAndCabinetRouteDeclaresWhatItNeeds() async throws {
        let services = try await Harness.services(Harness.settings())
        let table = RouteTable()
        let router = buildRouter(services, listener: .https, table: table)
        let declared = Set(table.all.map { "\($0.method) \($0.path)" })
        let guarded = router.routes.map { "\($0.method) \($0.path)" }.filter { $0.contains(" /v1/") || $0.contains(" /cabinet") }
        #expect(guarded.count > 100, "the walk found the routes")
        let undeclared = guarded.filter { !declared.contains($0) }
        #expect(undeclared.isEmpty, "registered without a requirement: \(undeclared)")
        #expect(declared.count == guarded.count, "declared but not registered: \(declared.subtracting(guarded))")

        // Every management route that changes something names its audit action (`ManageAuditActions`).
        let unaudited = table.all.filter { $0.audit == "MISSING" }.map { "\($0.method) \($0.path)" }
        #expect(unaudited.isEmpty, "changing routes without an audit action: \(unaudited)")

        let reviewed = try? String(contentsOf: Self.fixture, encoding: .utf8)
        if reviewed != table.rendered {
            // Written next to the build so a reviewer can diff it and, once satisfied, copy it over the fixture.
            let proposed = FileManager.default.temporaryDirectory.appendingPathComponent("route-requirements.txt")
            try table.rendered.write(to: proposed, atomically: true, encoding: .utf8)
            Issue.record("The route table changed; review \(proposed.path) against \(Self.fixture.path) and update the fixture.")
        }
    }

    /// Each requirement in the table means what it says: a test key never reaches merchant-wide state,
    /// and live credentials take `keys.live`.
    @Test func requirementsReadAsTheyAreChecked() throws {
        #expect(
            Authorization.Requirement.write(.settings, scope: .merchant).description == "settings.write, merchant-wide (API: live-mode keys only)"
        )
        #expect(Authorization.Requirement.read(.credentials).permissions(mode: .live) == [.keysRead, .keysLive])
        #expect(Authorization.Requirement.read(.certificates).permissions(mode: .live) == [.certificatesRead])
        #expect(Authorization.Requirement.write(.certificates).permissions(mode: .live) == [.certificatesWrite, .keysLive])
    }
}
