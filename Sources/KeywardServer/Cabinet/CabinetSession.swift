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
    /// The user has a passkey (the second-factor step then asks for it).
    var hasPasskey = false
}

/// Cookie names: `__Host-` makes browsers insist on Secure, Path=/ and no Domain.
enum CabinetCookies {
    static let session = "__Host-kw_session"
    static let login = "__Host-kw_login"

    static func make(_ name: String, _ value: String, maxAge: Int) -> Cookie {
        Cookie(name: name, value: value, maxAge: maxAge, path: "/", secure: true, httpOnly: true, sameSite: .strict)
    }
}

/// Loads the signed-in member of the session cookie, when there is one, for every cabinet page. It
/// admits nothing by itself: each page declares who may open it (`CabinetRoutes`), and a page for
/// members cannot be reached without the member this finds.
struct CabinetSessionMiddleware: RouterMiddleware {
    typealias Context = KeywardRequestContext
    let sessions: CabinetSessions
    let accounts: AccountService
    let team: TeamService
    let merchants: MerchantService
    let passkeys: PasskeyService

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let token = request.cookies[CabinetCookies.session]?.value, let session = try await sessions.lookup(token: token),
            let role = try await team.membership(userID: session.userID, merchantID: session.merchantID)
        else {
            return try await next(request, context)
        }
        var context = context
        // Only while the second factor is owed does it matter (one indexed look-up, then never again this session).
        let hasPasskey = session.secondFactor ? false : try await passkeys.hasPasskey(userID: session.userID)
        context.cabinet = CabinetPrincipal(
            token: token,
            session: session,
            user: try await accounts.get(id: session.userID),
            role: role,
            merchant: try await merchants.get(id: session.merchantID),
            hasPasskey: hasPasskey
        )
        return try await next(request, context)
    }
}
