import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KeywardCore
import KeywardCrypto
import KeywardServer
import KeywardTestSupport
import Testing

/// Mail through a real SMTP server (Python aiosmtpd with STARTTLS or implicit TLS and AUTH): the
/// message as a mail client reads it, refusals with the server's reason, and the cabinet mailing
/// invitations and password-reset links that then work.
@Suite(.closesStores) struct MailTests {
    typealias Browser = CabinetTests.Browser

    /// aiosmtpd on a free port, with a self-signed certificate for `localhost` made by openssl.
    final class SMTPPeer: Sendable {
        let process: ChildProcess
        let input: ChildPipe
        let port: Int
        let mailDirectory: String
        let certificate: String

        init(mode: String) throws {
            let keys = try KeyFixtures()
            try keys.openssl([
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
                "-keyout", keys.path("smtp.key"), "-out", keys.path("smtp.crt"), "-subj", "/CN=localhost",
                "-addext", "subjectAltName=DNS:localhost",
            ])
            mailDirectory = keys.path("mail")
            try FileManager.default.createDirectory(atPath: mailDirectory, withIntermediateDirectories: true)
            certificate = keys.path("smtp.crt")
            let portFile = keys.path("port")
            // Not the test's own stdout (the test runner would wait for the peer to close it); the peer
            // exits when its stdin, held by this object, closes.
            input = try ChildPipe()
            process = try ChildProcess(
                "/usr/bin/env",
                ["python3", Peers.smtp, portFile, mailDirectory, certificate, keys.path("smtp.key"), mode, "keyward", "relay secret"],
                stdin: .descriptor(input.readEnd)
            )
            close(input.readEnd)
            var waited = 0
            while !FileManager.default.fileExists(atPath: portFile) {
                guard process.isRunning, waited < 200 else { throw SMTPError(description: "aiosmtpd did not start. \(Shell.installHint)") }
                Thread.sleep(forTimeInterval: 0.05)
                waited += 1
            }
            port = Int(try String(contentsOfFile: portFile, encoding: .utf8)) ?? 0
        }

        func settings(security: SMTPSettings.Security, password: String = "relay secret") -> SMTPSettings {
            SMTPSettings(
                host: "localhost",
                port: port,
                security: security,
                username: "keyward",
                password: password,
                from: "keyward@shop.example",
                caBundle: certificate
            )
        }

        /// The messages received so far: envelope and raw data.
        func messages() throws -> [(from: String, to: [String], data: String)] {
            try FileManager.default.contentsOfDirectory(atPath: mailDirectory).filter { $0.hasSuffix(".json") }.sorted().map { name in
                let json =
                    try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: mailDirectory + "/" + name))) as? [String: Any]
                    ?? [:]
                return (json["from"] as? String ?? "", json["to"] as? [String] ?? [], json["data"] as? String ?? "")
            }
        }

        /// The decoded text of a message (base64 body).
        static func body(_ data: String) -> String {
            let parts = data.components(separatedBy: "\r\n\r\n")
            let encoded = parts.dropFirst().joined().replacingOccurrences(of: "\r\n", with: "").replacingOccurrences(of: "\n", with: "")
            return Data(base64Encoded: encoded).map { String(decoding: $0, as: UTF8.self) } ?? ""
        }

        func stop() {
            close(input.writeEnd)
            process.terminate()
            process.wait()
        }
    }

    @Test(arguments: [("starttls", SMTPSettings.Security.starttls), ("tls", .tls)])
    func aMessageArrivesAsAMailClientReadsItAndRefusalsSayWhy(mode: String, security: SMTPSettings.Security) async throws {
        let peer = try SMTPPeer(mode: mode)
        defer { peer.stop() }
        let mailer = SMTPMailer(settings: peer.settings(security: security))
        try await mailer.send(to: "sam@shop.example", subject: "Grüße: your invitation", body: "Hello Sam,\n.\nA line with only a dot stays.\n")
        let message = try #require(try peer.messages().first)
        #expect(message.from == "keyward@shop.example" && message.to == ["sam@shop.example"])
        #expect(message.data.contains("Subject: =?utf-8?B?") && message.data.contains("Content-Type: text/plain; charset=utf-8"))
        #expect(SMTPPeer.body(message.data) == "Hello Sam,\n.\nA line with only a dot stays.\n")

        await #expect {
            try await SMTPMailer(settings: peer.settings(security: security, password: "wrong")).send(to: "a@b.example", subject: "x", body: "y")
        } throws: { error in
            "\(error)".contains("535") && !"\(error)".contains("wrong")
        }
        await #expect(throws: SMTPError.self) { try await mailer.send(to: "a@b.example\r\nBcc: evil@x.example", subject: "x", body: "y") }
        var plain = peer.settings(security: .none)
        plain.port = peer.port
        await #expect(throws: SMTPError.self) { try await SMTPMailer(settings: plain).send(to: "a@b.example", subject: "x", body: "y") }
        #expect(try peer.messages().count == 1)
    }

    @Test func theCabinetMailsInvitationsAndResetLinksThatWork() async throws {
        let peer = try SMTPPeer(mode: "starttls")
        defer { peer.stop() }
        let settings = Harness.settings {
            $0.smtpHost = "localhost"
            $0.smtpPort = peer.port
            $0.smtpUsername = "keyward"
            $0.smtpPassword = "relay secret"
            $0.smtpFrom = "keyward@shop.example"
            $0.smtpCABundle = peer.certificate
            $0.publicURL = "https://keys.shop.example"
        }
        // A clock of the test's own: enrolment and sign-in use codes of consecutive steps, whatever the wall clock does.
        let clock = TestClock()
        let services = try await Harness.services(settings, clock: clock.clock)
        let (email, password, _) = try await CabinetTests.member(services, role: .administrator)
        let adminID = try await services.accounts.login(email: email, password: password, address: "192.0.2.1").id
        let (secret, _) = try await services.accounts.beginTOTP(userID: adminID)
        let totp = TOTP(secret: try #require(Base32.decode(secret)))
        _ = try await services.accounts.confirmTOTP(userID: adminID, code: totp.code(at: clock.clock.now()))
        clock.advance(30)
        let app = try await Harness.app(settings, clock: clock.clock)
        _ = try await app.test(.router) { client in
            let admin = try await CabinetKeysTests.signIn(client, services, email: email, password: password, totp: totp, at: clock.clock.now())
            let csrf = try #require(Browser.csrf(String(buffer: try await admin.send(client, .get, "/cabinet/team").body)))
            // A new address each run: a PostgreSQL database kept between runs still holds the last run's Kim.
            let kimEmail = "kim-\(UUID().uuidString.prefix(8).lowercased())@shop.example"
            let invited = String(
                buffer: try await admin.send(client, .post, "/cabinet/team/invite", form: ["csrf": csrf, "email": kimEmail, "role": "viewer"]).body
            )
            #expect(invited.contains("Mailed to \(kimEmail)."))
            let invitation = try #require(try peer.messages().last)
            #expect(invitation.to == [kimEmail])
            let text = SMTPPeer.body(invitation.data)
            let link = try #require(text.split(separator: "\n").first { $0.hasPrefix("https://") }.map(String.init))
            // Links name the configured public URL, never the Host a request came with.
            #expect(link.hasPrefix("https://keys.shop.example/cabinet/invite?token="), "\(link)")
            #expect(!invited.contains("token="), "with a relay, the link goes to the invitee only")
            let path = try #require(link.range(of: "/cabinet/").map { String(link[$0.lowerBound...]) })
            // The mailed link works: the new member joins with a password.
            let kim = Browser()
            let page = try await kim.send(client, .get, path)
            let token = try #require(path.split(separator: "=").last.map(String.init))
            let accepted = try await kim.send(
                client,
                .post,
                "/cabinet/invite",
                form: [
                    "token": token, "password": "kim's own passphrase",
                    "csrf": try #require(Browser.csrf(String(buffer: page.body))),
                ]
            )
            #expect(accepted.headers[.location] == "/cabinet/login")

            // Forgot password: the same answer for known and unknown addresses; the known one gets a link.
            let forgot = try await kim.send(client, .get, "/cabinet/forgot")
            let unknown = try await kim.send(
                client,
                .post,
                "/cabinet/forgot",
                form: ["email": "nobody@shop.example", "csrf": try #require(Browser.csrf(String(buffer: forgot.body)))]
            )
            let known = try await kim.send(
                client,
                .post,
                "/cabinet/forgot",
                form: ["email": kimEmail, "csrf": try #require(Browser.csrf(String(buffer: unknown.body)))]
            )
            #expect(
                String(buffer: unknown.body).contains("If an account has this address")
                    && String(buffer: known.body).contains("If an account has this address")
            )
            var resetMail: String?
            for _ in 0..<100 where resetMail == nil {
                resetMail = try peer.messages().map { SMTPPeer.body($0.data) }.first { $0.contains("/cabinet/reset?token=") }
                if resetMail == nil { try await Task.sleep(for: .milliseconds(50)) }
            }
            let reset = try #require(resetMail)
            #expect(try peer.messages().count == 2, "no mail for the unknown address")
            let resetLink = try #require(reset.split(separator: "\n").first { $0.hasPrefix("https://") }.map(String.init))
            #expect(resetLink.hasPrefix("https://keys.shop.example/cabinet/reset?token="), "\(resetLink)")
            let resetToken = try #require(resetLink.split(separator: "=").last.map(String.init))
            let resetPage = try await kim.send(client, .get, "/cabinet/reset?token=\(resetToken)")
            let saved = try await kim.send(
                client,
                .post,
                "/cabinet/reset",
                form: [
                    "token": resetToken, "password": "kim's newer passphrase",
                    "csrf": try #require(Browser.csrf(String(buffer: resetPage.body))),
                ]
            )
            #expect(saved.headers[.location] == "/cabinet/login")
            #expect(try await services.accounts.login(email: kimEmail, password: "kim's newer passphrase", address: "192.0.2.1").email == kimEmail)
        }
    }
}
