import Foundation
import KeywardCore
import Testing

/// The bound on what a caller may hand out, tried with the shapes an attacker would ask for.
struct MinterTests {
    static let now = Date()

    static func key(permissions: [String]?, allowedIPs: [String] = [], expiresAt: Date? = nil) throws -> Minter {
        .key(
            AuthenticatedKey(
                keyID: "key_minter",
                merchantID: "mch_x",
                mid: "MID-x",
                mode: .live,
                permissions: permissions,
                allowedIPs: try allowedIPs.map { try IPNetwork(parsing: $0) },
                expiresAt: expiresAt,
                revokedAt: nil,
                replacedBy: nil
            )
        )
    }

    static func refused(_ body: () throws -> Void) -> Bool {
        do {
            try body()
            return false
        } catch let error as KeywardError { return error.code.rawValue == "insufficient_permissions" } catch { return false }
    }

    @Test func aKeyWithAnAllowlistHandsOutOnlyNarrowerAllowlists() throws {
        let office = try Self.key(permissions: nil, allowedIPs: ["10.0.0.0/8"])
        #expect(try office.limits(for: RequestedLimits(), managing: true, now: Self.now).allowedIPs.map(\.description) == ["10.0.0.0/8"], "inherited")
        #expect(
            try office.limits(for: RequestedLimits(allowedIPs: ["10.1.0.0/16"]), managing: true, now: Self.now).allowedIPs.map(\.description) == [
                "10.1.0.0/16"
            ]
        )
        for wider in [["0.0.0.0/0"], ["11.0.0.0/8"], ["10.0.0.0/7"], [], ["::/0"], ["10.0.0.0/8", "192.0.2.1"]] {
            #expect(Self.refused { _ = try office.limits(for: RequestedLimits(allowedIPs: wider), managing: true, now: Self.now) }, "\(wider)")
        }
    }

    @Test func anExpiringKeyHandsOutNothingThatOutlivesIt() throws {
        let soon = Self.now.addingTimeInterval(3600)
        let temporary = try Self.key(permissions: nil, expiresAt: soon)
        #expect(try temporary.limits(for: RequestedLimits(), managing: false, now: Self.now).expiresAt == soon)
        #expect(
            Self.refused { _ = try temporary.limits(for: RequestedLimits(expiresAt: soon.addingTimeInterval(1)), managing: false, now: Self.now) }
        )
        #expect(Self.refused { try temporary.admit(expiry: nil) })
        #expect(throws: Never.self) { try temporary.admit(expiry: soon) }
    }

    @Test func aRestrictedKeyHandsOutOnlyWhatItHas() throws {
        let restricted = try Self.key(permissions: ["keys.read", "payments.write"])
        #expect(try restricted.limits(for: RequestedLimits(), managing: true, now: Self.now).permissions == ["keys.read", "payments.write"])
        #expect(Self.refused { try restricted.admit(CredentialLimits(), managing: false) }, "unrestricted")
        #expect(
            Self.refused {
                _ = try restricted.limits(for: RequestedLimits(permissions: ["payments.write", "refunds.write"]), managing: false, now: Self.now)
            }
        )
        #expect(
            try restricted.limits(for: RequestedLimits(permissions: ["payments.write"]), managing: false, now: Self.now).permissions == [
                "payments.write"
            ]
        )
    }

    @Test func aMembersRoleBoundsTheKeywardPermissionsOfKeysTheyMake() throws {
        let developer = Minter.member(.builtIn(.developer))
        #expect(Self.refused { try developer.admit(CredentialLimits(), managing: true) }, "an unrestricted secret key")
        #expect(Self.refused { try developer.admit(CredentialLimits(permissions: ["settings.write"]), managing: true) })
        #expect(throws: Never.self) { try developer.admit(CredentialLimits(permissions: ["keys.write", "payments.write"]), managing: true) }
        // Signing keys and the like never manage: API scopes are not part of roles.
        #expect(throws: Never.self) { try developer.admit(CredentialLimits(), managing: false) }
        #expect(throws: Never.self) { try Minter.member(.builtIn(.owner)).admit(CredentialLimits(), managing: true) }
    }

    @Test func networksCoverOnlyWhatLiesInside() throws {
        let ten = try IPNetwork(parsing: "10.0.0.0/8")
        #expect(ten.covers(try IPNetwork(parsing: "10.255.0.0/16")))
        #expect(!ten.covers(try IPNetwork(parsing: "0.0.0.0/0")))
        #expect(!ten.covers(try IPNetwork(parsing: "::ffff:10.0.0.1")), "no family crossing")
        #expect(try IPNetwork(parsing: "2001:db8::/32").covers(try IPNetwork(parsing: "2001:db8:1::/48")))
    }
}
