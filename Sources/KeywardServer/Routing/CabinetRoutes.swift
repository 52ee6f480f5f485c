import Hummingbird
import KeywardCore
import KeywardCrypto

/// Who may open a cabinet page.
enum CabinetAccess: Sendable, CustomStringConvertible {
    /// Anyone: sign-in, setup, invitation and password-reset pages (their forms carry a double-submit token).
    case anyone
    /// A member who gave their password and may still owe the second factor (the second-factor pages, sign-out).
    case secondFactorStep
    /// A fully signed-in member, whatever their role.
    case member
    /// A fully signed-in member whose role meets the requirement (in the mode the page names).
    case needs(Authorization.Requirement)

    var description: String {
        switch self {
        case .anyone: "anyone (double-submit form token)"
        case .secondFactorStep: "signed in, second factor may be owed"
        case .member: "signed in, any role"
        case .needs(let requirement): requirement.description
        }
    }
}

/// The context of a signed-in cabinet page: the member is always there, and so are the mode the page
/// acts in and, for posts, the form (already checked against the session's CSRF token).
struct CabinetContext: ChildRequestContext {
    typealias ParentContext = KeywardRequestContext
    var coreContext: CoreRequestContextStorage
    let principal: CabinetPrincipal
    let clientAddress: [UInt8]?
    /// The mode the page names (`?mode=` or the form's `mode`); test when it names none.
    var mode: Mode = .test
    /// The posted form (text fields and files); empty for GET.
    var upload = CabinetFormData()
    /// The posted text fields.
    var form: [String: String] { upload.fields }

    init(context: KeywardRequestContext) throws {
        guard let principal = context.cabinet else { throw CabinetRedirect(to: "/cabinet/login") }
        self.coreContext = context.coreContext
        self.principal = principal
        self.clientAddress = context.clientAddress
    }

    /// The caller's address as text; "unknown" without one.
    var clientAddressText: String { clientAddress.map(IPText.format) ?? "unknown" }

    /// Whether the member's role meets `requirement` in `mode` (for showing or hiding forms).
    func may(_ requirement: Authorization.Requirement, mode: Mode? = nil) -> Bool {
        (try? Authorization.authorize(requirement, role: principal.role, mode: mode ?? self.mode)) != nil
    }
}

/// Thrown to send the browser elsewhere (to sign in, or to the second factor it owes).
struct CabinetRedirect: Error {
    let to: String
}

/// Registers cabinet pages. Every page says who may open it: the check (session, second factor,
/// CSRF token of posts, role in the page's mode) runs before the handler and is recorded in the route table.
struct CabinetRoutes {
    /// Pages anyone may open (no session needed).
    let open: RouterGroup<KeywardRequestContext>
    /// Pages of signed-in members.
    let members: RouterGroup<CabinetContext>
    let table: RouteTable
    /// What a page answers when its second-factor step locked (ends the session; alerts once).
    let secondFactorLocked: @Sendable (SecondFactorLockout, CabinetContext) async throws -> Response
    let prefix = "/cabinet"
    /// The methods each page takes, for the 405 of the others (`refuseWrongMethods`).
    let registered = RegisteredMethods()

    typealias OpenHandler<Output: ResponseGenerator> = @Sendable (Request, KeywardRequestContext) async throws -> Output
    typealias Handler<Output: ResponseGenerator> = @Sendable (Request, CabinetContext) async throws -> Output

    /// A page anyone may open.
    func open<Output: ResponseGenerator>(_ path: String, method: HTTPRequest.Method, use handler: @escaping OpenHandler<Output>) {
        table.record(method: method.rawValue, path: full(path), requirement: CabinetAccess.anyone.description)
        registered.add(method, path)
        self.open.on(RouterPath(path), method: method, use: handler)
    }

    func get<Output: ResponseGenerator>(_ path: String, _ access: CabinetAccess, use handler: @escaping Handler<Output>) {
        on(path, method: .get, access, use: handler)
    }

    func post<Output: ResponseGenerator>(_ path: String, _ access: CabinetAccess, use handler: @escaping Handler<Output>) {
        on(path, method: .post, access, use: handler)
    }

    func on<Output: ResponseGenerator>(_ path: String, method: HTTPRequest.Method, _ access: CabinetAccess, use handler: @escaping Handler<Output>) {
        precondition(!isAnyone(access), "pages anyone may open are registered with open(_:method:use:)")
        table.record(method: method.rawValue, path: full(path), requirement: access.description)
        registered.add(method, path)
        members.on(RouterPath(path), method: method) { [secondFactorLocked] request, context -> Response in
            var request = request
            let context = try await Self.admit(&request, context, access)
            do {
                return try await handler(request, context).response(from: request, context: context)
            } catch let lockout as SecondFactorLockout {
                return try await secondFactorLocked(lockout, context)
            }
        }
    }

    /// Unknown cabinet pages are cabinet pages too (HTML, with the navigation), not API problems.
    func refuseUnknownPages() {
        // A known page asked with another method is a 405 page with `Allow`, not "no such page".
        refuseWrongMethods()
        table.record(method: "GET", path: full("**"), requirement: "none: 404 page")
        open.get("**") { _, _ -> Response in throw KeywardError(.notFound, .notFound, "There is no such page in the cabinet.") }
    }

    /// The checks before every signed-in page: second factor, CSRF token of a post, the page's mode, the role.
    static func admit(_ request: inout Request, _ context: CabinetContext, _ access: CabinetAccess) async throws -> CabinetContext {
        var context = context
        let principal = context.principal
        if case .secondFactorStep = access {
        } else if principal.owesSecondFactor {
            throw CabinetRedirect(to: principal.user.totpEnabled || principal.hasPasskey ? "/cabinet/2fa" : "/cabinet/2fa/setup")
        }
        if request.method == .post {
            context.upload = try await CabinetForm.readAll(&request)
            guard ConstantTime.equals(Array((context.upload.fields["csrf"] ?? "").utf8), Array(principal.session.csrfToken.utf8)) else {
                throw KeywardError(.forbidden, .csrfFailed, "This form is out of date. Reload the page and try again.")
            }
            context.mode = try CabinetController.mode(context.upload.fields["mode"])
        } else {
            context.mode = try CabinetController.mode(request.uri.queryParameters["mode"].map(String.init))
        }
        if case .needs(let requirement) = access {
            try Authorization.authorize(requirement, role: principal.role, mode: context.mode)
        }
        return context
    }

    private func full(_ path: String) -> String { path.isEmpty ? prefix : "\(prefix)/\(path)" }

    private func isAnyone(_ access: CabinetAccess) -> Bool {
        if case .anyone = access { return true }
        return false
    }
}

extension CabinetPrincipal {
    /// Signed in with a password, but the second factor (on, or required by the role) is still owed.
    var owesSecondFactor: Bool { !session.secondFactor && (user.totpEnabled || hasPasskey || role.requiresSecondFactor) }
}
