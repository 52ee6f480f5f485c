import Foundation
import Hummingbird
import KeywardCore
import KeywardCrypto

/// The signed-in member a cabinet request acts for.
struct CabinetPrincipal: Sendable {
    let token: String
    let session: CabinetSession
    let user: UserInfo
    let role: MemberRole
    let merchant: Merchant
}

/// Cookie names: `__Host-` makes browsers insist on Secure, Path=/ and no Domain.
enum CabinetCookies {
    static let session = "__Host-kw_session"
    static let login = "__Host-kw_login"

    static func make(_ name: String, _ value: String, maxAge: Int) -> Cookie {
        Cookie(name: name, value: value, maxAge: maxAge, path: "/", secure: true, httpOnly: true, sameSite: .strict)
    }
}

/// Loads the session of the cookie for every cabinet page but the sign-in ones; without one (or once it
/// ended) the browser goes to the sign-in page. A session whose second factor is still owed reaches only
/// the second-factor pages. Every POST must carry the session's CSRF token.
struct CabinetSessionMiddleware: RouterMiddleware {
    typealias Context = KeywardRequestContext
    let sessions: CabinetSessions
    let accounts: AccountService
    let team: TeamService
    let merchants: MerchantService

    static let open: Set<String> = ["/cabinet/login", "/cabinet/setup", "/cabinet/invite", "/cabinet/forgot", "/cabinet/reset"]
    static let secondFactorPages: Set<String> = ["/cabinet/2fa", "/cabinet/2fa/setup", "/cabinet/logout"]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        if Self.open.contains(path) { return try await next(request, context) }
        guard let token = request.cookies[CabinetCookies.session]?.value, let session = try await sessions.lookup(token: token),
              let role = try await team.membership(userID: session.userID, merchantID: session.merchantID) else {
            return .redirect(to: "/cabinet/login", type: .normal)
        }
        var request = request
        if request.method == .post {
            let form = try await CabinetForm.read(&request)
            guard ConstantTime.equals(Array((form["csrf"] ?? "").utf8), Array(session.csrfToken.utf8)) else {
                throw KeywardError(.forbidden, "csrf_failed", "This form is out of date. Reload the page and try again.")
            }
        }
        var context = context
        context.cabinet = CabinetPrincipal(token: token, session: session, user: try await accounts.get(id: session.userID), role: role,
                                           merchant: try await merchants.get(id: session.merchantID))
        return try await gate(request, context, next)
    }

    /// Owed second factor: verify (TOTP on) or enrol (the role requires it); nothing else until then.
    func gate(_ request: Request, _ context: Context, _ next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let principal = context.cabinet else { return .redirect(to: "/cabinet/login", type: .normal) }
        let owed = !principal.session.secondFactor && (principal.user.totpEnabled || principal.role.requiresSecondFactor)
        if owed && !Self.secondFactorPages.contains(request.uri.path) {
            return .redirect(to: principal.user.totpEnabled ? "/cabinet/2fa" : "/cabinet/2fa/setup", type: .normal)
        }
        return try await next(request, context)
    }
}
