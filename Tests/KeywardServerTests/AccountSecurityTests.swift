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

    static func isCode(_ code: String) -> @Sendable (any Error) -> Bool { { ($0 as? KeywardError)?.code.rawValue == code } }

    /// Someone who knows an owner's email sends wrong passwords from their address: they lock
    /// themselves out, not the owner signing in from the office.
    @Test func wrongPasswordsFromOneAddressDoNotLockTheOwnerOutElsewhere() async throws {
        let services = try await Harness.services(Harness.settings())
        let (email, password, _) = try await CabinetTests.member(services, role: .owner)
        for _ in 0..<6 { _ = try? await services.accounts.login(email: email, password: "an attacker's guess", address: "203.0.113.9") }
        await #expect(
            performing: { try await services.accounts.login(email: email, password: password, address: "203.0.113.9") },
            throws: Self.isCode("login_locked")
        )
        #expect(try await services.accounts.login(email: email, password: password, address: "198.51.100.20").email == email)
    }

    /// Many addresses together still meet a ceiling on the account.
    @Test func guessesFromManyAddressesMeetTheAccountCeiling() async throws {
        let services = try await Harness.services(Harness.settings())
        let (email, password, _) = try await CabinetTests.member(services, role: .owner)
        for index in 0..<50 { _ = try? await services.accounts.login(email: email, password: "botnet guess \(index)", address: "203.0.113.\(index)") }
        await #expect(
            performing: { try await services.accounts.login(email: email, password: password, address: "198.51.100.20") },
            throws: Self.isCode("login_locked")
        )
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
        await #expect(
            performing: { try await services.accounts.login(email: email, password: password, address: "203.0.113.7") },
            throws: Self.isCode("login_locked")
        )
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
                do { _ = try await services.accounts.login(email: candidate, password: "wrong wrong wrong", address: "203.0.113.5") } catch let error
                    as KeywardError
                {
                    codes.append(
                        error.code.rawValue + ": "
                            + error.message.replacingOccurrences(of: #"after \S+"#, with: "after T", options: .regularExpression)
                    )
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
                    group.addTask {
                        (try? await services.accounts.setPassword(token: link.token, purpose: "reset", password: "racing passphrase \(index)")) != nil
                    }
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
        await #expect(
            performing: {
                try await services.team.acceptInvitation(token: invitation.token, password: "the attacker's passphrase", signedInUserID: nil)
            },
            throws: Self.isCode("account_pending")
        )
        await #expect(
            performing: { try await services.accounts.login(email: victimEmail, password: "the attacker's passphrase", address: "203.0.113.1") },
            throws: Self.isCode("invalid_credentials")
        )
        // The victim's own setup link still works.
        _ = try await services.accounts.setPassword(token: try #require(victimSetup).token, password: "the victim's own passphrase")

        // An active account joins only while signed in as itself, and keeps its password.
        let again = try await services.team.invite(email: victimEmail, merchantID: attackerMerchant.id, role: .builtIn(.viewer))
        let attacker = try await services.accounts.login(email: attackerEmail, password: attackerPassword, address: "203.0.113.1")
        await #expect(
            performing: { try await services.team.acceptInvitation(token: again.token, password: "the attacker's passphrase", signedInUserID: nil) },
            throws: Self.isCode("sign_in_required")
        )
        await #expect(
            performing: { try await services.team.acceptInvitation(token: again.token, password: nil, signedInUserID: attacker.id) },
            throws: Self.isCode("sign_in_required")
        )
        let victim = try await services.accounts.login(email: victimEmail, password: "the victim's own passphrase", address: "198.51.100.2")
        let (joined, merchantID) = try await services.team.acceptInvitation(
            token: again.token,
            password: "ignored passphrase",
            signedInUserID: victim.id
        )
        #expect(joined.id == victim.id && merchantID == attackerMerchant.id)
        #expect(
            try await services.accounts.login(email: victimEmail, password: "the victim's own passphrase", address: "198.51.100.2").id == victim.id
        )
    }

    /// The invitation page says which merchant and role it grants, and asks an existing account to sign in.
    @Test func theInvitationPageSaysWhatItGrants() async throws {
        let settings = Harness.settings()
        let services = try await Harness.services(settings)
        let (_, _, merchant) = try await CabinetTests.member(services, role: .owner, merchantName: "Acme <Payments>")
        let (existingEmail, _, _) = try await CabinetTests.member(services, role: .viewer)
        let fresh = try await services.team.invite(
            email: "new-\(UUID().uuidString.prefix(6))@shop.example",
            merchantID: merchant.id,
            role: .builtIn(.developer)
        )
        let existing = try await services.team.invite(email: existingEmail, merchantID: merchant.id, role: .builtIn(.finance))
        let app = try await Harness.app(settings)
        _ = try await app.test(.router) { client in
            let guest = Browser()
            let page = String(buffer: try await guest.send(client, .get, "/cabinet/invite?token=\(fresh.token)").body)
            #expect(page.contains("makes you <strong>Developer</strong> at <strong>Acme &lt;Payments&gt;</strong>"), "\(page)")
            #expect(page.contains("name=\"password\""))
            let other = String(buffer: try await guest.send(client, .get, "/cabinet/invite?token=\(existing.token)").body)
            #expect(other.contains("<strong>Finance</strong>") && other.contains("already has an account") && !other.contains("name=\"password\""))
            let forced = try await guest.send(
                client,
                .post,
                "/cabinet/invite",
                form: [
                    "token": existing.token, "password": "an attacker's passphrase",
                    "csrf": Browser.csrf(other) ?? "",
                ]
            )
            #expect(forced.status != .found && forced.status != .seeOther, "no account joins without signing in")
            #expect(try await services.team.members(merchantID: merchant.id).count == 1)
        }
    }

    /// A password thief guesses second-factor codes, spreading them over sessions: the fifth wrong code
    /// locks the step for the account, ends the session, and is recorded; the right code is then refused
    /// until the lock ends. Wrong fresh codes for a live roll count toward the same lock.
    @Test func guessingTheSecondFactorLocksItAcrossSessions() async throws {
        let clock = TestClock()
        let settings = Harness.settings()
        let services = try await Harness.services(settings, clock: clock.clock)
        let (email, password, merchant, totp) = try await CabinetKeyActionsTests.enrolled(services, role: .administrator, clock: clock)
        let live = try await services.secretKeys.create(merchantID: merchant.id, mode: .live, options: .init(name: "live"), by: .platformOperator)
        let app = try await Harness.app(settings, clock: clock.clock)
        _ = try await app.test(.router) { client in
            // A signed-in session (the owner's own, or a hijacked one) mistypes two fresh codes for a live roll.
            let owner = try await CabinetKeysTests.signIn(client, services, email: email, password: password, totp: totp, at: clock.clock.now())
            let rollPage = try await owner.send(client, .get, "/cabinet/keys/\(live.info.id)/roll?mode=live")
            let ownerCSRF = try #require(Browser.csrf(String(buffer: rollPage.body)))
            for _ in 0..<2 {
                let wrong = try await owner.send(
                    client,
                    .post,
                    "/cabinet/keys/\(live.info.id)/roll",
                    form: ["mode": "live", "csrf": ownerCSRF, "overlap": "0", "code": "000000"]
                )
                #expect(wrong.status == .unauthorized)
            }
            // The thief signs in with the password in two sessions and guesses.
            var last: TestResponse?
            for attempt in 0..<3 {
                let thief = Browser()
                let login = try await thief.send(client, .get, "/cabinet/login")
                _ = try await thief.send(
                    client,
                    .post,
                    "/cabinet/login",
                    form: ["email": email, "password": password, "csrf": try #require(Browser.csrf(String(buffer: login.body)))]
                )
                let prompt = try await thief.send(client, .get, "/cabinet/2fa")
                let csrf = try #require(Browser.csrf(String(buffer: prompt.body)))
                last = try await thief.send(
                    client,
                    .post,
                    "/cabinet/2fa",
                    form: ["code": String(format: "%06d", 111_111 * (attempt + 1)), "csrf": csrf]
                )
                if last?.status == .tooManyRequests {
                    // Locked: the half-signed-in session is over.
                    #expect(try await thief.send(client, .get, "/cabinet/2fa").headers[.location] == "/cabinet/login")
                    break
                }
            }
            #expect(last?.status == .tooManyRequests, "the fifth wrong code locks")
            #expect(String(buffer: try #require(last).body).contains("locked until"))
            // The right code is refused while locked, and the live key was not rolled.
            await #expect(
                performing: {
                    try await services.accounts.verifySecondFactor(
                        userID: try await services.accounts.login(email: email, password: password, address: "x").id,
                        code: totp.code(at: clock.clock.now())
                    )
                },
                throws: { $0 is SecondFactorLockout }
            )
            _ = try await client.call(.get, "/v1/auth/test", key: live.secret) { #expect($0.status == .ok) }
            let actions = try await services.audit.list(merchantID: merchant.id).map(\.action)
            #expect(actions.filter { $0 == "second_factor.locked" }.count == 1)
            // After the backoff the owner signs in again.
            clock.advance(61)
            _ = try await CabinetKeysTests.signIn(client, services, email: email, password: password, totp: totp, at: clock.clock.now())
        }
    }

    /// Session fixation: a session cookie known before the second factor (planted, or read off the
    /// half-signed-in browser) is worthless once the second factor is given.
    @Test func theSessionIdChangesWhenTheSecondFactorIsGiven() async throws {
        let clock = TestClock()
        let settings = Harness.settings()
        let services = try await Harness.services(settings, clock: clock.clock)
        let (email, password, _, totp) = try await CabinetKeyActionsTests.enrolled(services, role: .administrator, clock: clock)
        let app = try await Harness.app(settings, clock: clock.clock)
        _ = try await app.test(.router) { client in
            let browser = Browser()
            let login = try await browser.send(client, .get, "/cabinet/login")
            _ = try await browser.send(
                client,
                .post,
                "/cabinet/login",
                form: ["email": email, "password": password, "csrf": try #require(Browser.csrf(String(buffer: login.body)))]
            )
            let before = browser.cookies
            let prompt = try await browser.send(client, .get, "/cabinet/2fa")
            let answer = try await browser.send(
                client,
                .post,
                "/cabinet/2fa",
                form: ["code": totp.code(at: clock.clock.now()), "csrf": try #require(Browser.csrf(String(buffer: prompt.body)))]
            )
            #expect(answer.headers[.location] == "/cabinet")
            #expect(browser.cookies != before, "a new session cookie")
            let fixated = Browser()
            fixated.jar.withLock { $0 = before }
            #expect(try await fixated.send(client, .get, "/cabinet/keys?mode=live").headers[.location] == "/cabinet/login")
            #expect(try await browser.send(client, .get, "/cabinet/keys?mode=live").status == .ok)
        }
    }

    /// A demoted member keeps no session that still carries the old role; "sign out everywhere" ends
    /// every browser of the account, listed on the account page first.
    @Test func roleChangesAndSignOutEverywhereEndSessions() async throws {
        let clock = TestClock()
        let settings = Harness.settings()
        let services = try await Harness.services(settings, clock: clock.clock)
        let (email, password, merchant) = try await CabinetTests.member(services, role: .developer)
        let app = try await Harness.app(settings, clock: clock.clock)
        _ = try await app.test(.router) { client in
            let laptop = try await CabinetKeysTests.signIn(client, services, email: email, password: password, totp: nil, at: clock.clock.now())
            let phone = try await CabinetKeysTests.signIn(client, services, email: email, password: password, totp: nil, at: clock.clock.now())
            let account = String(buffer: try await laptop.send(client, .get, "/cabinet/account").body)
            #expect(account.components(separatedBy: "<tr><td>").count - 1 == 2, "two browsers listed")
            #expect(account.contains("(this browser)"))
            let user = try await services.accounts.login(email: email, password: password, address: "192.0.2.1")
            try await services.team.changeRole(merchantID: merchant.id, userID: user.id, to: .builtIn(.viewer))
            #expect(try await laptop.send(client, .get, "/cabinet").headers[.location] == "/cabinet/login", "the role changed: sign in again")
            #expect(try await phone.send(client, .get, "/cabinet").headers[.location] == "/cabinet/login")

            let first = try await CabinetKeysTests.signIn(client, services, email: email, password: password, totp: nil, at: clock.clock.now())
            let second = try await CabinetKeysTests.signIn(client, services, email: email, password: password, totp: nil, at: clock.clock.now())
            let csrf = try #require(Browser.csrf(String(buffer: try await first.send(client, .get, "/cabinet/account").body)))
            let out = try await first.send(client, .post, "/cabinet/account/sessions/end-all", form: ["csrf": csrf])
            #expect(out.headers[.location] == "/cabinet/login")
            #expect(try await first.send(client, .get, "/cabinet").headers[.location] == "/cabinet/login")
            #expect(try await second.send(client, .get, "/cabinet").headers[.location] == "/cabinet/login")
        }
    }

    /// Pages with a token in their URL send no referrer; pages with secrets are never cached; every
    /// HTTPS answer pins HTTPS (HSTS), errors included.
    @Test func tokenAndSecretPagesAreNeitherReferredNorCached() async throws {
        let settings = Harness.settings()
        let services = try await Harness.services(settings)
        let (email, password, merchant) = try await CabinetTests.member(services, role: .developer)
        let invitation = try await services.team.invite(
            email: "hdr-\(UUID().uuidString.prefix(6))@shop.example",
            merchantID: merchant.id,
            role: .builtIn(.viewer)
        )
        let reset = try #require(try await services.accounts.requestPasswordReset(email: email))
        let app = try await Harness.app(settings)
        _ = try await app.test(.router) { client in
            let guest = Browser()
            for path in ["/cabinet/invite?token=\(invitation.token)", "/cabinet/reset?token=\(reset.token)", "/cabinet/setup?token=kwt_x"] {
                let page = try await guest.send(client, .get, path)
                #expect(page.headers[HTTPField.Name("Referrer-Policy")!] == "no-referrer", "\(path)")
                #expect(page.headers[.cacheControl] == "no-store", "\(path)")
                #expect(page.headers[.strictTransportSecurity] == "max-age=31536000", "\(path)")
            }
            let owner = try await CabinetKeysTests.signIn(client, services, email: email, password: password, totp: nil, at: Date())
            let keys = String(buffer: try await owner.send(client, .get, "/cabinet/keys?mode=test").body)
            let created = try await owner.send(
                client,
                .post,
                "/cabinet/keys",
                form: [
                    "mode": "test", "name": "x", "access": "restricted", "scopes": "payments.read",
                    "csrf": try #require(Browser.csrf(keys)),
                ]
            )
            #expect(created.status == .created && created.headers[.cacheControl] == "no-store")
            let problem = try await client.call(.get, "/v1/auth/test", key: nil)
            #expect(problem.status == .unauthorized && problem.headers[.strictTransportSecurity] == "max-age=31536000")
        }
    }

    /// A password thief signs in from somewhere new: an account that can see live keys is told by mail,
    /// and the sign-in is in the audit log, even though the second factor then stops the thief.
    @Test func aSignInFromANewAddressIsAnnounced() async throws {
        let peer = try MailTests.SMTPPeer(mode: "starttls")
        defer { peer.stop() }
        let settings = Harness.settings {
            $0.trustedProxies = [try! IPNetwork(parsing: "127.0.0.1/32")]
            $0.smtpHost = "localhost"
            $0.smtpPort = peer.port
            $0.smtpUsername = "keyward"
            $0.smtpPassword = "relay secret"
            $0.smtpFrom = "keyward@shop.example"
            $0.smtpCABundle = peer.certificate
            $0.publicURL = "https://keys.shop.example"
        }
        let services = try await Harness.services(settings)
        let (email, password, merchant) = try await CabinetTests.member(services, role: .owner)
        let (developerEmail, developerPassword, _) = try await CabinetTests.member(services, role: .developer)
        // The HTTPS router on a plain socket: the peer is 127.0.0.1, a trusted proxy naming the client.
        let app = Application(
            router: buildRouter(services, listener: .https),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            logger: Harness.logger
        )
        _ = try await app.test(.live) { client in
            func signIn(_ email: String, _ password: String, from address: String) async throws {
                let browser = Browser()
                let headers: HTTPFields = [.init("X-Forwarded-For")!: address, .init("X-Forwarded-Proto")!: "https"]
                let login = try await browser.send(client, .get, "/cabinet/login", headers: headers)
                let answer = try await browser.send(
                    client,
                    .post,
                    "/cabinet/login",
                    form: [
                        "email": email, "password": password,
                        "csrf": try #require(Browser.csrf(String(buffer: login.body))),
                    ],
                    headers: headers
                )
                #expect(answer.headers[.location] == "/cabinet")
            }
            try await signIn(email, password, from: "198.51.100.7")
            try await signIn(email, password, from: "198.51.100.7")
            try await signIn(developerEmail, developerPassword, from: "198.51.100.7")
            try await signIn(developerEmail, developerPassword, from: "203.0.113.50")
            #expect(try peer.messages().isEmpty, "the first address, and accounts without live access, are not news")
            try await signIn(email, password, from: "203.0.113.50")
            var alert: String?
            for _ in 0..<100 where alert == nil {
                alert = try peer.messages().first { $0.to == [email] }.map { MailTests.SMTPPeer.body($0.data) }
                if alert == nil { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(alert?.contains("203.0.113.50") == true, "\(alert ?? "no mail")")
        }
        let entries = try await services.audit.list(merchantID: merchant.id).filter { $0.action == "sign_in.new_address" }
        #expect(entries.count == 1 && entries.first?.address == "203.0.113.50")
    }
}
