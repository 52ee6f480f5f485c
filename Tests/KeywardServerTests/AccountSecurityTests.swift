import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KeywardCore
import KeywardCrypto
import KeywardServer
import Testing

/// The cabinet's accounts tried as an attacker would: guessing, locking others out, telling which
/// emails exist, reusing one-time links, hijacking accounts through invitations.
@Suite(.closesStores) struct AccountSecurityTests {
    typealias Browser = CabinetTests.Browser

    static func isCode(_ code: String) -> @Sendable (any Error) -> Bool { { ($0 as? KeywardError)?.code == code } }

    /// Someone who knows an owner's email sends wrong passwords from their address: they lock
    /// themselves out, not the owner signing in from the office.
    @Test func wrongPasswordsFromOneAddressDoNotLockTheOwnerOutElsewhere() async throws {
        let services = try await Harness.services(Harness.settings())
        let (email, password, _) = try await CabinetTests.member(services, role: .owner)
        for _ in 0..<6 { _ = try? await services.accounts.login(email: email, password: "an attacker's guess", address: "203.0.113.9") }
        await #expect(performing: { try await services.accounts.login(email: email, password: password, address: "203.0.113.9") },
                      throws: Self.isCode("login_locked"))
        #expect(try await services.accounts.login(email: email, password: password, address: "198.51.100.20").email == email)
    }

    /// Many addresses together still meet a ceiling on the account.
    @Test func guessesFromManyAddressesMeetTheAccountCeiling() async throws {
        let services = try await Harness.services(Harness.settings())
        let (email, password, _) = try await CabinetTests.member(services, role: .owner)
        for index in 0..<50 { _ = try? await services.accounts.login(email: email, password: "botnet guess \(index)", address: "203.0.113.\(index)") }
        await #expect(performing: { try await services.accounts.login(email: email, password: password, address: "198.51.100.20") },
                      throws: Self.isCode("login_locked"))
    }

    /// Parallel wrong passwords each count: twenty at once from one address lock it.
    @Test func parallelWrongPasswordsEachCount() async throws {
        let services = try await Harness.services(Harness.settings())
        let (email, password, _) = try await CabinetTests.member(services, role: .owner)
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<20 {
                group.addTask { _ = try? await services.accounts.login(email: email, password: "parallel guess \(index)", address: "203.0.113.7") }
            }
        }
        await #expect(performing: { try await services.accounts.login(email: email, password: password, address: "203.0.113.7") },
                      throws: Self.isCode("login_locked"))
    }

    /// An unknown email answers exactly like a real one, locks included, so sign-in tells nobody which
    /// emails have accounts.
    @Test func unknownEmailsAnswerLikeRealOnes() async throws {
        let services = try await Harness.services(Harness.settings())
        let (email, _, _) = try await CabinetTests.member(services, role: .owner)
        var answers: [[String]] = []
        for candidate in [email, "nobody-\(UUID().uuidString.prefix(6))@shop.example"] {
            var codes: [String] = []
            for _ in 0..<7 {
                do { _ = try await services.accounts.login(email: candidate, password: "wrong wrong wrong", address: "203.0.113.5") } catch let error as KeywardError {
                    codes.append(error.code + ": " + error.message.replacingOccurrences(of: #"after \S+"#, with: "after T", options: .regularExpression))
                }
            }
            answers.append(codes)
        }
        #expect(answers[0] == answers[1], "\(answers)")
        #expect(answers[0].last?.hasPrefix("login_locked") == true)
    }

    /// The decoy hash of unknown emails costs what real hashes cost (the configured cost, not a fixed 12).
    @Test(arguments: [UInt8(4), 6])
    func theDecoyHashCostsWhatRealHashesCost(cost: UInt8) async throws {
        let services = try await Harness.services(Harness.settings { $0.passwordHashCost = cost })
        #expect(services.accounts.decoyHashCost == Int(cost))
    }

    /// Two posts of one reset link at the same moment: exactly one sets the password.
    @Test func aOneTimeLinkPostedTwiceAtOnceWorksOnce() async throws {
        let services = try await Harness.services(Harness.settings())
        let (email, _, _) = try await CabinetTests.member(services, role: .owner)
        for _ in 0..<5 {
            let link = try #require(try await services.accounts.requestPasswordReset(email: email))
            let outcomes = await withTaskGroup(of: Bool.self) { group in
                for index in 0..<4 {
                    group.addTask { (try? await services.accounts.setPassword(token: link.token, purpose: "reset", password: "racing passphrase \(index)")) != nil }
                }
                return await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 }.count == 1, "\(outcomes)")
        }
    }

    /// An owner of merchant A invites the (not yet set up) owner of merchant B and accepts with a
    /// password of their own: they used to become that account, and so an owner of B.
    @Test func anInvitationCannotSetThePasswordOfAnAccountThatExists() async throws {
        let services = try await Harness.services(Harness.settings())
        let victimMerchant = try await services.merchants.create(name: "Victim")
        let victimEmail = "victim-\(UUID().uuidString.prefix(6))@shop.example"
        let (_, victimSetup) = try await services.team.addMember(email: victimEmail, merchantID: victimMerchant.id, role: .builtIn(.owner))
        let (attackerEmail, attackerPassword, attackerMerchant) = try await CabinetTests.member(services, role: .owner, merchantName: "Attacker")
        let invitation = try await services.team.invite(email: victimEmail, merchantID: attackerMerchant.id, role: .builtIn(.viewer))
        await #expect(performing: { try await services.team.acceptInvitation(token: invitation.token, password: "the attacker's passphrase", signedInUserID: nil) },
                      throws: Self.isCode("account_pending"))
        await #expect(performing: { try await services.accounts.login(email: victimEmail, password: "the attacker's passphrase", address: "203.0.113.1") },
                      throws: Self.isCode("invalid_credentials"))
        // The victim's own setup link still works.
        _ = try await services.accounts.setPassword(token: try #require(victimSetup).token, password: "the victim's own passphrase")

        // An active account joins only while signed in as itself, and keeps its password.
        let again = try await services.team.invite(email: victimEmail, merchantID: attackerMerchant.id, role: .builtIn(.viewer))
        let attacker = try await services.accounts.login(email: attackerEmail, password: attackerPassword, address: "203.0.113.1")
        await #expect(performing: { try await services.team.acceptInvitation(token: again.token, password: "the attacker's passphrase", signedInUserID: nil) },
                      throws: Self.isCode("sign_in_required"))
        await #expect(performing: { try await services.team.acceptInvitation(token: again.token, password: nil, signedInUserID: attacker.id) },
                      throws: Self.isCode("sign_in_required"))
        let victim = try await services.accounts.login(email: victimEmail, password: "the victim's own passphrase", address: "198.51.100.2")
        let (joined, merchantID) = try await services.team.acceptInvitation(token: again.token, password: "ignored passphrase", signedInUserID: victim.id)
        #expect(joined.id == victim.id && merchantID == attackerMerchant.id)
        #expect(try await services.accounts.login(email: victimEmail, password: "the victim's own passphrase", address: "198.51.100.2").id == victim.id)
    }

    /// The invitation page says which merchant and role it grants, and asks an existing account to sign in.
    @Test func theInvitationPageSaysWhatItGrants() async throws {
        let settings = Harness.settings()
        let services = try await Harness.services(settings)
        let (_, _, merchant) = try await CabinetTests.member(services, role: .owner, merchantName: "Acme <Payments>")
        let (existingEmail, _, _) = try await CabinetTests.member(services, role: .viewer)
        let fresh = try await services.team.invite(email: "new-\(UUID().uuidString.prefix(6))@shop.example", merchantID: merchant.id, role: .builtIn(.developer))
        let existing = try await services.team.invite(email: existingEmail, merchantID: merchant.id, role: .builtIn(.finance))
        let app = try await Harness.app(settings)
        _ = try await app.test(.router) { client in
            let guest = Browser()
            let page = String(buffer: try await guest.send(client, .get, "/cabinet/invite?token=\(fresh.token)").body)
            #expect(page.contains("makes you <strong>Developer</strong> at <strong>Acme &lt;Payments&gt;</strong>"), "\(page)")
            #expect(page.contains("name=\"password\""))
            let other = String(buffer: try await guest.send(client, .get, "/cabinet/invite?token=\(existing.token)").body)
            #expect(other.contains("<strong>Finance</strong>") && other.contains("already has an account") && !other.contains("name=\"password\""))
            let forced = try await guest.send(client, .post, "/cabinet/invite", form: ["token": existing.token, "password": "an attacker's passphrase",
                                                                                     "csrf": Browser.csrf(other) ?? ""])
            #expect(forced.status != .found && forced.status != .seeOther, "no account joins without signing in")
            #expect(try await services.team.members(merchantID: merchant.id).count == 1)
        }
    }
}
