import Foundation
import KeywardCore
import KeywardCrypto
import KeywardServer
import Testing

/// Cabinet accounts (issue 6 groundwork): setup links, passwords, lockout, TOTP with replay refusal and
/// recovery codes, roles and the last owner, invitations, sessions.
@Suite(.closesStores) struct AccountTests {
    static func owner(_ services: KeywardServices) async throws -> (merchant: Merchant, user: UserInfo, password: String) {
        let merchant = try await services.merchants.create(name: "Shop \(UUID().uuidString.prefix(6))")
        let email = "owner-\(UUID().uuidString.prefix(8))@shop.example"
        let (_, setup) = try await services.team.addMember(email: email, merchantID: merchant.id, role: .builtIn(.owner))
        let password = "correct horse battery staple"
        let user = try await services.accounts.setPassword(token: try #require(setup).token, password: password)
        return (merchant, user, password)
    }

    @Test func setupLinksWorkOnceAndPasswordsAreChecked() async throws {
        let clock = TestClock()
        let services = try await Harness.services(Harness.settings(), clock: clock.clock)
        let merchant = try await services.merchants.create(name: "Shop")
        let email = "Ana-\(UUID().uuidString.prefix(6))@Shop.Example"
        let (user, setup) = try await services.team.addMember(email: email, merchantID: merchant.id, role: .builtIn(.owner))
        #expect(user.email == email.lowercased() && !user.hasPassword)
        let link = try #require(setup)
        await #expect { try await services.accounts.setPassword(token: link.token, password: "short") } throws: {
            ($0 as? KeywardError)?.code.rawValue == "weak_password"
        }
        _ = try await services.accounts.setPassword(token: link.token, password: "a long enough passphrase")
        await #expect { try await services.accounts.setPassword(token: link.token, password: "another long passphrase") } throws: {
            ($0 as? KeywardError)?.code.rawValue == "invalid_link"
        }
        #expect(try await services.accounts.login(email: email, password: "a long enough passphrase", address: "192.0.2.1").id == user.id)
        await #expect { try await services.accounts.login(email: email, password: "wrong passphrase!!", address: "192.0.2.1") } throws: {
            ($0 as? KeywardError)?.code.rawValue == "invalid_credentials"
        }
        await #expect { try await services.accounts.login(email: "nobody@shop.example", password: "whatever it is", address: "192.0.2.1") } throws: {
            ($0 as? KeywardError)?.code.rawValue == "invalid_credentials"
        }
        // A reset link expires after an hour.
        let reset = try #require(try await services.accounts.requestPasswordReset(email: email))
        #expect(try await services.accounts.requestPasswordReset(email: "nobody@shop.example") == nil)
        clock.advance(3601)
        await #expect { try await services.accounts.setPassword(token: reset.token, purpose: "reset", password: "a brand new passphrase") } throws: {
            ($0 as? KeywardError)?.code.rawValue == "invalid_link"
        }
    }

    @Test func fiveFailuresLockTheAccountWithABackoff() async throws {
        let clock = TestClock()
        let services = try await Harness.services(Harness.settings(), clock: clock.clock)
        let (_, user, password) = try await Self.owner(services)
        for _ in 0..<5 { _ = try? await services.accounts.login(email: user.email, password: "not the password", address: "192.0.2.1") }
        await #expect { try await services.accounts.login(email: user.email, password: password, address: "192.0.2.1") } throws: {
            ($0 as? KeywardError)?.code.rawValue == "login_locked"
        }
        clock.advance(61)
        #expect(try await services.accounts.login(email: user.email, password: password, address: "192.0.2.1").id == user.id)
        // The count starts over after a success.
        _ = try? await services.accounts.login(email: user.email, password: "not the password", address: "192.0.2.1")
        #expect(try await services.accounts.login(email: user.email, password: password, address: "192.0.2.1").id == user.id)
    }

    @Test func totpCodesAreAcceptedOnceAndRecoveryCodesReplaceThem() async throws {
        let clock = TestClock()
        let services = try await Harness.services(Harness.settings(), clock: clock.clock)
        let (_, user, _) = try await Self.owner(services)
        let (secret, uri) = try await services.accounts.beginTOTP(userID: user.id)
        #expect(uri.contains("secret=\(secret)"))
        let totp = TOTP(secret: try #require(Base32.decode(secret)))
        await #expect { try await services.accounts.confirmTOTP(userID: user.id, code: "000000") } throws: {
            ($0 as? KeywardError)?.code.rawValue == "invalid_code"
        }
        let recovery = try await services.accounts.confirmTOTP(userID: user.id, code: totp.code(at: clock.clock.now()))
        #expect(recovery.count == 10 && Set(recovery).count == 10)
        #expect(try await services.accounts.get(id: user.id).totpEnabled)
        // The enrolment code cannot be used again; the next step's can, once.
        await #expect { try await services.accounts.verifySecondFactor(userID: user.id, code: totp.code(at: clock.clock.now())) } throws: {
            ($0 as? KeywardError)?.code.rawValue == "invalid_code"
        }
        clock.advance(30)
        let next = totp.code(at: clock.clock.now())
        try await services.accounts.verifySecondFactor(userID: user.id, code: next)
        await #expect { try await services.accounts.verifySecondFactor(userID: user.id, code: next) } throws: {
            ($0 as? KeywardError)?.code.rawValue == "invalid_code"
        }
        try await services.accounts.verifySecondFactor(userID: user.id, code: recovery[3].uppercased())
        await #expect { try await services.accounts.verifySecondFactor(userID: user.id, code: recovery[3]) } throws: {
            ($0 as? KeywardError)?.code.rawValue == "invalid_code"
        }
        #expect(try await services.accounts.recoveryCodesLeft(userID: user.id) == 9)
    }

    @Test func rolesGrantTheirPermissionsAndAMerchantKeepsAnOwner() async throws {
        let services = try await Harness.services(Harness.settings())
        let (merchant, owner, _) = try await Self.owner(services)
        #expect(DefaultRole.viewer.permissions == [.keysRead, .certificatesRead])
        #expect(!DefaultRole.developer.permissions.contains(.keysLive) && MemberRole.builtIn(.administrator).requiresSecondFactor)
        await #expect { try await services.team.createRole(merchantID: merchant.id, name: "Support", permissions: ["keys.read", "root"]) } throws: {
            ($0 as? KeywardError)?.code.rawValue == "invalid_permission"
        }
        let support = try await services.team.createRole(merchantID: merchant.id, name: "Support", permissions: ["keys.read", "audit.read"])
        #expect(support.permissions == [.keysRead, .auditRead] && !support.requiresSecondFactor)
        // An invitation makes a new user a member with the custom role.
        let invitation = try await services.team.invite(
            email: "sam-\(UUID().uuidString.prefix(6))@shop.example",
            merchantID: merchant.id,
            role: support
        )
        let (sam, joined) = try await services.team.acceptInvitation(token: invitation.token, password: "sam's long passphrase", signedInUserID: nil)
        #expect(joined == merchant.id)
        #expect(try await services.team.membership(userID: sam.id, merchantID: merchant.id) == support)
        await #expect { try await services.team.acceptInvitation(token: invitation.token, password: nil, signedInUserID: nil) } throws: {
            ($0 as? KeywardError)?.code.rawValue == "invalid_link"
        }
        #expect(try await services.team.members(merchantID: merchant.id).map(\.user.id) == [owner.id, sam.id])
        // The last owner can neither leave nor be demoted; with a second owner both work.
        await #expect { try await services.team.remove(merchantID: merchant.id, userID: owner.id) } throws: {
            ($0 as? KeywardError)?.code.rawValue == "last_owner"
        }
        await #expect { try await services.team.changeRole(merchantID: merchant.id, userID: owner.id, to: .builtIn(.viewer)) } throws: {
            ($0 as? KeywardError)?.code.rawValue == "last_owner"
        }
        try await services.team.changeRole(merchantID: merchant.id, userID: sam.id, to: .builtIn(.owner))
        try await services.team.changeRole(merchantID: merchant.id, userID: owner.id, to: .builtIn(.viewer))
        #expect(try await services.team.membership(userID: owner.id, merchantID: merchant.id) == .builtIn(.viewer))
        // Another merchant's custom role is not a role here.
        let other = try await services.merchants.create(name: "Other")
        await #expect { try await services.team.role(merchantID: other.id, value: support.storedValue) } throws: {
            ($0 as? KeywardError)?.code.rawValue == "invalid_role"
        }
    }

    static let origin = SessionOrigin(address: "192.0.2.1", userAgent: "tests")

    @Test func sessionsEndOnLogoutIdlenessAndRemovalFromTheTeam() async throws {
        let clock = TestClock()
        let services = try await Harness.services(Harness.settings(), clock: clock.clock)
        let (merchant, owner, _) = try await Self.owner(services)
        let (token, session) = try await services.cabinetSessions.create(
            userID: owner.id,
            merchantID: merchant.id,
            secondFactor: false,
            origin: Self.origin
        )
        #expect(try await services.cabinetSessions.lookup(token: token) == session)
        #expect(try await services.cabinetSessions.lookup(token: token + "x") == nil)
        // Giving the second factor rotates the session: the old token is worthless after.
        let (rotated, _) = try await services.cabinetSessions.rotate(token: token, secondFactor: true, origin: Self.origin)
        #expect(try await services.cabinetSessions.lookup(token: token) == nil)
        #expect(try await services.cabinetSessions.lookup(token: rotated)?.secondFactor == true)
        clock.advance(31 * 60)
        #expect(try await services.cabinetSessions.lookup(token: rotated) == nil, "idle for 31 minutes")
        let (second, _) = try await services.cabinetSessions.create(
            userID: owner.id,
            merchantID: merchant.id,
            secondFactor: false,
            origin: Self.origin
        )
        try await services.cabinetSessions.end(token: second)
        #expect(try await services.cabinetSessions.lookup(token: second) == nil)
        // Removing a member ends their sessions in that merchant.
        let (member, _) = try await services.team.addMember(
            email: "temp-\(UUID().uuidString.prefix(6))@shop.example",
            merchantID: merchant.id,
            role: .builtIn(.developer)
        )
        let (memberToken, _) = try await services.cabinetSessions.create(
            userID: member.id,
            merchantID: merchant.id,
            secondFactor: false,
            origin: Self.origin
        )
        try await services.team.remove(merchantID: merchant.id, userID: member.id)
        #expect(try await services.cabinetSessions.lookup(token: memberToken) == nil)
    }
}
