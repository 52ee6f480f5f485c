import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KeywardCore
import KeywardCrypto
import KeywardServer
import KeywardTestSupport
import Testing

/// Team pages: invite a member (link shown), accept it with a new password, custom roles that cannot
/// reach what they lack, no granting beyond one's own permissions, and the audit page.
@Suite(.closesStores) struct CabinetTeamTests {
    typealias Browser = CabinetTests.Browser

    @Test func anInvitedMemberWithACustomRoleReachesOnlyWhatTheRoleHas() async throws {
        let clock = TestClock()
        let settings = Harness.settings()
        let services = try await Harness.services(settings, clock: clock.clock)
        let (ownerEmail, password, merchant) = try await CabinetTests.member(services, role: .owner)
        let ownerID = try await services.accounts.login(email: ownerEmail, password: password, address: "192.0.2.1").id
        let (secret, _) = try await services.accounts.beginTOTP(userID: ownerID)
        let totp = TOTP(secret: try #require(Base32.decode(secret)))
        _ = try await services.accounts.confirmTOTP(userID: ownerID, code: totp.code(at: clock.clock.now()))
        clock.advance(30)
        let app = try await Harness.app(settings, clock: clock.clock)
        _ = try await app.test(.router) { client in
            let owner = try await CabinetKeysTests.signIn(client, services, email: ownerEmail, password: password, totp: totp, at: clock.clock.now())
            let teamPage = try await owner.send(client, .get, "/cabinet/team")
            #expect(teamPage.status == .ok)
            let csrf = try #require(Browser.csrf(String(buffer: teamPage.body)))
            // A custom role: keys.read only.
            let created = try await owner.send(
                client,
                .post,
                "/cabinet/team/roles",
                form: ["name": "Support <desk>", "permission.keys.read": "on", "csrf": csrf]
            )
            #expect(created.headers[.location] == "/cabinet/team")
            let support = try #require(try await services.team.roles(merchantID: merchant.id).first { $0.name == "Support <desk>" })
            #expect(support.permissions == [.keysRead])
            #expect(String(buffer: try await owner.send(client, .get, "/cabinet/team").body).contains("Support &lt;desk&gt;"))

            // Invite with that role; the link is shown; the new member accepts with a password.
            let email = "sam-\(UUID().uuidString.prefix(6).lowercased())@shop.example"
            let invited = try await owner.send(
                client,
                .post,
                "/cabinet/team/invite",
                form: ["email": email, "role": support.storedValue, "csrf": csrf]
            )
            #expect(invited.status == .created)
            let html = String(buffer: invited.body)
            let link = try #require(
                html.range(of: "/cabinet/invite?token=").map { "/cabinet/invite?token=" + String(html[$0.upperBound...].prefix { $0 != "<" }) }
            )
            let sam = Browser()
            let acceptPage = try await sam.send(client, .get, link)
            let token = String(link.split(separator: "=").last ?? "")
            let accepted = try await sam.send(
                client,
                .post,
                "/cabinet/invite",
                form: [
                    "token": token, "password": "sam joins the team now",
                    "csrf": try #require(Browser.csrf(String(buffer: acceptPage.body))),
                ]
            )
            #expect(accepted.headers[.location] == "/cabinet/login")

            let member = try await CabinetKeysTests.signIn(
                client,
                services,
                email: email,
                password: "sam joins the team now",
                totp: nil,
                at: clock.clock.now()
            )
            #expect(try await member.send(client, .get, "/cabinet/keys?mode=test").status == .ok)
            #expect(try await member.send(client, .get, "/cabinet/team").status == .forbidden)
            #expect(try await member.send(client, .get, "/cabinet/audit").status == .forbidden)
            #expect(try await member.send(client, .get, "/cabinet/keys?mode=live").status == .forbidden)

            // The owner sees it all in the audit page, filterable.
            let audit = try await owner.send(client, .get, "/cabinet/audit?action=invite")
            let auditHTML = String(buffer: audit.body)
            #expect(audit.status == .ok && auditHTML.contains("member.invite Support &lt;desk&gt;") && !auditHTML.contains("role.create"))

            // Nobody grants what they lack: make Sam a team manager without keys.live, then try to invite an owner.
            let managers = try await services.team.createRole(merchantID: merchant.id, name: "Managers", permissions: ["team.manage", "keys.read"])
            let samID = try #require(try await services.team.members(merchantID: merchant.id).first { $0.user.email == email }?.user.id)
            try await services.team.changeRole(merchantID: merchant.id, userID: samID, to: managers)
            // A role change ends the member's sessions: Sam signs in again under the new role.
            #expect(try await member.send(client, .get, "/cabinet/team").headers[.location] == "/cabinet/login")
            let manager = try await CabinetKeysTests.signIn(
                client,
                services,
                email: email,
                password: "sam joins the team now",
                totp: nil,
                at: clock.clock.now()
            )
            let samTeam = try await manager.send(client, .get, "/cabinet/team")
            let samCSRF = try #require(Browser.csrf(String(buffer: samTeam.body)))
            let escalation = try await manager.send(
                client,
                .post,
                "/cabinet/team/invite",
                form: ["email": "x@shop.example", "role": "owner", "csrf": samCSRF]
            )
            #expect(escalation.status == .forbidden && String(buffer: escalation.body).contains("cannot grant"))
            // Removing Sam ends Sam's session at once.
            #expect(try await owner.send(client, .post, "/cabinet/team/\(samID)/remove", form: ["csrf": csrf]).headers[.location] == "/cabinet/team")
            #expect(try await manager.send(client, .get, "/cabinet/keys?mode=test").headers[.location] == "/cabinet/login")
        }
    }
}
