import Foundation
import HummingbirdTesting
import KeywardCore
import KeywardCrypto
import KeywardServer
import KeywardTestSupport
import Testing

/// Drives the software authenticator (`Tests/peers/webauthn_authenticator.py`) against cabinet pages.
enum SoftAuthenticator {
    typealias Browser = CabinetTests.Browser
    static let origin = "https://keys.shop.example"

    /// Settings whose public URL (and so origin and RP ID) is `origin`.
    static func settings() -> Settings { Harness.settings { $0.publicURL = origin } }

    static func run(_ request: [String: Any]) throws -> [String: String] {
        let output = try Shell.run("/usr/bin/env", ["python3", Peers.webauthn], stdin: try JSONSerialization.data(withJSONObject: request))
        return try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: String])
    }

    /// The JSON options a page put in the `data-options` attribute of form `id`.
    static func options(_ html: String, form id: String) throws -> [String: Any] {
        let start = try #require(html.range(of: "id=\"\(id)\""), "form \(id) on the page")
        let rest = html[start.upperBound...]
        let attribute = try #require(rest.range(of: "data-options=\""))
        let escaped = String(rest[attribute.upperBound...].prefix { $0 != "\"" })
        let json = escaped.replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&#39;", with: "'")
            .replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&amp;", with: "&")
        return try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
    }

    /// A passkey made by the authenticator: what a test keeps to sign with it later.
    struct Credential {
        let id: String
        let key: String
        let alg: Int
    }

    /// Adds a passkey from the account page; returns the credential and the server's answer.
    static func add(
        _ client: some TestClientProtocol,
        _ browser: Browser,
        name: String = "Laptop",
        alg: Int = -7,
        attestation: String = "none",
        lie: [String: Any] = [:]
    ) async throws -> (Credential, TestResponse) {
        let page = String(buffer: try await browser.send(client, .get, "/cabinet/account").body)
        var request: [String: Any] = [
            "op": "create", "options": try options(page, form: "passkey-add"), "origin": origin, "alg": alg, "attestation": attestation,
        ]
        request.merge(lie) { $1 }
        let made = try run(request)
        let response = try await browser.send(
            client,
            .post,
            "/cabinet/account/passkeys",
            form: [
                "csrf": try #require(Browser.csrf(page)), "name": name, "credential_id": made["credential_id"] ?? "",
                "client_data": made["client_data"] ?? "", "attestation_object": made["attestation_object"] ?? "",
            ]
        )
        return (Credential(id: made["credential_id"] ?? "", key: made["key"] ?? "", alg: alg), response)
    }

    /// Answers the second-factor step with `credential` (the browser has given its password); `lie`
    /// overrides what the authenticator says (origin, rp_id, sign_count, corrupt_signature, challenge).
    @discardableResult
    static func signIn(
        _ client: some TestClientProtocol,
        _ browser: Browser,
        _ credential: Credential,
        signCount: Int,
        lie: [String: Any] = [:],
        replay: [String: String]? = nil
    ) async throws -> (TestResponse, [String: String]) {
        let page = String(buffer: try await browser.send(client, .get, "/cabinet/2fa").body)
        let csrf = try #require(Browser.csrf(page))
        let answer: [String: String]
        if let replay {
            answer = replay
        } else {
            var request: [String: Any] = [
                "op": "get", "options": try options(page, form: "passkey-sign-in"), "origin": origin, "credential_id": credential.id,
                "key": credential.key, "alg": credential.alg, "sign_count": signCount,
            ]
            request.merge(lie) { $1 }
            answer = try run(request)
        }
        var form = answer
        form["csrf"] = csrf
        return (try await browser.send(client, .post, "/cabinet/2fa/passkey", form: form), answer)
    }

    /// A browser that gave the password and now owes the second factor.
    static func password(_ client: some TestClientProtocol, email: String, password: String) async throws -> Browser {
        let browser = Browser()
        let login = try await browser.send(client, .get, "/cabinet/login")
        _ = try await browser.send(
            client,
            .post,
            "/cabinet/login",
            form: ["email": email, "password": password, "csrf": try #require(Browser.csrf(String(buffer: login.body)))]
        )
        return browser
    }

    /// A member with TOTP on: their email, password, merchant, user id and TOTP.
    static func memberWithTOTP(
        _ services: KeywardServices,
        role: DefaultRole,
        at now: @autoclosure () -> Date,
        merchant existing: Merchant? = nil
    ) async throws
        -> (email: String, password: String, merchant: Merchant, userID: String, totp: TOTP, secret: String)
    {
        var (email, password, merchant) = try await CabinetTests.member(services, role: role)
        if let existing {
            // A member of `existing` instead (a second account of the same merchant).
            email = "\(role.rawValue)-\(UUID().uuidString.prefix(8).lowercased())@shop.example"
            let (_, setup) = try await services.team.addMember(email: email, merchantID: existing.id, role: .builtIn(role))
            _ = try await services.accounts.setPassword(token: try #require(setup).token, password: password)
            merchant = existing
        }
        let userID = try #require(try await services.team.members(merchantID: merchant.id).first { $0.user.email == email }?.user.id)
        let (secret, _) = try await services.accounts.beginTOTP(userID: userID)
        let totp = TOTP(secret: try #require(Base32.decode(secret)))
        // `now` is read at the moment of confirming: making the member (bcrypt) can take seconds on a loaded
        // machine, and a code read before it may be two steps old by the time it is checked.
        _ = try await services.accounts.confirmTOTP(userID: userID, code: totp.code(at: now()))
        return (email, password, merchant, userID, totp, secret)
    }
}
