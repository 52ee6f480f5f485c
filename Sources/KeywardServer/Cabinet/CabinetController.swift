import Foundation
import HTTPTypes
import Hummingbird
import KeywardCore
import KeywardCrypto
import KeywardQR
import Mustache

/// The merchant cabinet (server-rendered HTML): sign-in with lockout, second factor (verify or enrol,
/// with recovery codes), sign-out, and the overview with the certificate banner.
struct CabinetController {
    let services: KeywardServices
    let library: MustacheLibrary
    /// Mails invitations and reset links when a transport is configured; they are shown or printed otherwise.
    let mailer: SMTPMailer?

    init(services: KeywardServices) throws {
        self.services = services
        self.library = try CabinetTemplates.library()
        self.mailer = services.settings.smtp.map(SMTPMailer.init)
    }

    func addRoutes(to router: Router<KeywardRequestContext>, table: RouteTable) {
        let group = router.group("cabinet")
            .add(middleware: CabinetErrorPages(library: library))
            .add(
                middleware: CabinetSessionMiddleware(
                    sessions: services.cabinetSessions,
                    accounts: services.accounts,
                    team: services.team,
                    merchants: services.merchants,
                    passkeys: services.passkeys
                )
            )
            // Again inside the session: a handler's error page keeps the member's navigation.
            .add(middleware: CabinetErrorPages(library: library))
        let cabinet = CabinetRoutes(
            open: group,
            members: group.group(context: CabinetContext.self),
            table: table,
            secondFactorLocked: { lockout, context in try await secondFactorLocked(lockout, context) }
        )
        cabinet.open("login", method: .get) { _, _ in try loginPage(message: nil, email: "", status: .ok) }
        cabinet.open("login", method: .post) { request, context in try await signIn(request, context) }
        // The one-time link `keyward user create` prints (and invitations, for new accounts, later).
        cabinet.open("setup", method: .get) { request, _ in
            try setupPage(token: request.uri.queryParameters["token"].map(String.init) ?? "", message: nil, status: .ok)
        }
        cabinet.open("setup", method: .post) { request, _ -> Response in
            var request = request
            let form = try await CabinetForm.read(&request)
            let token = form["token"] ?? ""
            guard Self.passesDoubleSubmit(request, form) else {
                return try setupPage(token: token, message: "This form is out of date. Please try again.", status: .forbidden)
            }
            do {
                _ = try await services.accounts.setPassword(token: token, password: form["password"] ?? "")
            } catch let error as KeywardError where error.code == .weakPassword || error.code == .invalidLink {
                return try setupPage(token: token, message: error.message, status: .badRequest)
            }
            return .redirect(to: "/cabinet/login", type: .normal)
        }
        cabinet.post("logout", .secondFactorStep) { _, context -> Response in
            try await services.cabinetSessions.end(token: context.principal.token)
            var response = Response.redirect(to: "/cabinet/login", type: .normal)
            response.setCookie(CabinetCookies.make(CabinetCookies.session, "", maxAge: 0))
            return response
        }
        cabinet.get("2fa", .secondFactorStep) { _, context in try await secondFactorPage(context, message: nil, status: .ok) }
        cabinet.post("2fa", .secondFactorStep) { request, context -> Response in
            let principal = context.principal
            // A merchant that requires passkeys of this role: codes no longer pass (and are not consumed).
            guard try await codesPassSecondFactor(principal) else {
                return try await secondFactorPage(
                    context,
                    message: "Your merchant requires a passkey for your role: codes no longer sign you in.",
                    status: .forbidden
                )
            }
            do {
                try await services.accounts.verifySecondFactor(userID: principal.user.id, code: context.form["code"] ?? "")
            } catch let error as KeywardError where error.code == .invalidCode {
                return try await secondFactorPage(context, message: error.message, status: .unauthorized)
            }
            // A new session id once the second factor is given: a token seen before is worth nothing now.
            return try await signedInAgain(context, request: request, secondFactor: true, to: "/cabinet")
        }
        cabinet.get("2fa/setup", .secondFactorStep) { _, context -> Response in
            if try await passkeyStepInstead(context.principal) { return .redirect(to: "/cabinet/2fa", type: .normal) }
            return try await enrolPage(context, message: nil, status: .ok)
        }
        cabinet.post("2fa/setup", .secondFactorStep) { request, context -> Response in
            let principal = context.principal
            // Enrolling TOTP must not pass a step that needs a passkey.
            if try await passkeyStepInstead(principal) { return .redirect(to: "/cabinet/2fa", type: .normal) }
            let codes: [String]
            do {
                codes = try await services.accounts.confirmTOTP(userID: principal.user.id, code: context.form["code"] ?? "")
            } catch let error as KeywardError where error.code == .invalidCode || error.code == .totpNotPending {
                return try await enrolPage(context, message: error.message, status: .badRequest)
            }
            // The second factor changed: every other session of the account ends, this one starts anew.
            try await services.cabinetSessions.endAll(userID: principal.user.id)
            let (token, session) = try await services.cabinetSessions.create(
                userID: principal.user.id,
                merchantID: principal.merchant.id,
                secondFactor: true,
                origin: Self.origin(request, context.clientAddressText)
            )
            var view = CabinetPage(
                CabinetPrincipal(token: token, session: session, user: principal.user, role: principal.role, merchant: principal.merchant),
                title: "Recovery codes"
            )
            view.codes = codes
            var response = try page("recovery-codes", view)
            response.setCookie(CabinetCookies.make(CabinetCookies.session, token, maxAge: Int(CabinetSessions.absoluteLifetime)))
            return response
        }
        cabinet.get("", .member) { _, context in try await overview(context) }
        addKeyCheckRoutes(to: cabinet)
        addCredentialRoutes(to: cabinet)
        addStoreRoutes(to: cabinet)
        addKeyRoutes(to: cabinet)
        addTeamRoutes(to: cabinet)
        addCertificateRoutes(to: cabinet)
        addInvitationRoutes(to: cabinet)
        addSettingsRoutes(to: cabinet)
        addRateLimitRoutes(to: cabinet)
        addPasswordResetRoutes(to: cabinet)
        addMerchantSwitchRoutes(to: cabinet)
        addAccountRoutes(to: cabinet)
        addPasskeyRoutes(to: cabinet)
        cabinet.refuseUnknownPages()
    }

    /// TOTP enrolment: the secret as a QR code and as text, and the form for the first code.
    func enrolPage(_ context: CabinetContext, message: String?, status: HTTPResponse.Status) async throws -> Response {
        let principal = context.principal
        let (secret, uri) = try await services.accounts.beginTOTP(userID: principal.user.id)
        var view = CabinetPage(context, title: "Turn on two-factor authentication", message: message)
        view.secret = secret
        view.uri = uri
        // The QR code is drawn here (an inline SVG): the secret never leaves for a third-party service.
        view.qrSVG =
            (try? QRCode(encoding: uri.utf8))?.svg(label: "QR code to add \(principal.user.email) to an authenticator app", moduleSize: 4) ?? ""
        view.reason = principal.role.requiresSecondFactor ? "Your role can see or change live credentials, so it needs a second factor." : ""
        return try page("enrol", view, status: status)
    }

    func page(_ template: String, _ view: CabinetPage, status: HTTPResponse.Status = .ok) throws -> Response {
        guard let html = library.render(view, withTemplate: template) else {
            throw KeywardError(.unavailable, .templateMissing, "The page cannot be shown.")
        }
        return CabinetHTML.response(html, status: status)
    }

    /// A page for someone not signed in (sign-in, setup link, invitation): its form carries a fresh
    /// token that must match the cookie set with it (double-submit CSRF).
    func anonymousFormPage(
        _ template: String,
        title: String,
        message: String?,
        status: HTTPResponse.Status,
        _ fill: (inout CabinetPage) -> Void
    ) throws -> Response {
        let csrf = TokenHashLike.random()
        var view = CabinetPage(nil as CabinetPrincipal?, title: title, message: message)
        view.csrf = csrf
        fill(&view)
        var response = try page(template, view, status: status)
        response.setCookie(CabinetCookies.make(CabinetCookies.login, csrf, maxAge: 3600))
        return response
    }

    /// Whether an anonymous form came from our own page: its token matches the cookie.
    static func passesDoubleSubmit(_ request: Request, _ form: [String: String]) -> Bool {
        guard let cookie = request.cookies[CabinetCookies.login]?.value else { return false }
        return ConstantTime.equals(Array(cookie.utf8), Array((form["csrf"] ?? "").utf8))
    }

    func loginPage(message: String?, email: String, status: HTTPResponse.Status) throws -> Response {
        try anonymousFormPage("login", title: "Sign in", message: message, status: status) { $0.email = email }
    }

    func setupPage(token: String, message: String?, status: HTTPResponse.Status) throws -> Response {
        try anonymousFormPage("setup", title: "Choose your password", message: message, status: status) { $0.secret = token }
    }

    /// Where a session is opened from: the caller's address and browser.
    static func origin(_ request: Request, _ address: String) -> SessionOrigin {
        SessionOrigin(address: address, userAgent: request.headers[.userAgent] ?? "")
    }

    /// Replaces the member's session by a new one (new cookie) and sends the browser on.
    func signedInAgain(
        _ context: CabinetContext,
        request: Request,
        merchantID: String? = nil,
        secondFactor: Bool? = nil,
        to location: String
    ) async throws -> Response {
        let (token, _) = try await services.cabinetSessions.rotate(
            token: context.principal.token,
            merchantID: merchantID,
            secondFactor: secondFactor,
            origin: Self.origin(request, context.clientAddressText)
        )
        var response = Response.redirect(to: location, type: .normal)
        response.setCookie(CabinetCookies.make(CabinetCookies.session, token, maxAge: Int(CabinetSessions.absoluteLifetime)))
        return response
    }

    func signIn(_ request: Request, _ context: KeywardRequestContext) async throws -> Response {
        var request = request
        let form = try await CabinetForm.read(&request)
        let email = form["email"] ?? ""
        // Login CSRF: the form must come from our own page (double-submit cookie).
        guard Self.passesDoubleSubmit(request, form) else {
            return try loginPage(message: "This form is out of date. Please sign in again.", email: email, status: .forbidden)
        }
        let user: UserInfo
        do {
            user = try await services.accounts.login(email: email, password: form["password"] ?? "", address: context.clientAddressText)
        } catch let error as KeywardError where error.code == .invalidCredentials || error.code == .loginLocked {
            return try loginPage(message: error.message, email: email, status: error.code == .loginLocked ? .tooManyRequests : .unauthorized)
        }
        guard let merchantID = try await services.team.merchants(userID: user.id).first else {
            return try loginPage(message: "This account belongs to no merchant any more.", email: email, status: .forbidden)
        }
        try await alertOnNewAddress(user, address: context.clientAddressText)
        // A session cookie the browser still held (another account, or one planted by an attacker) ends here:
        // signing in always starts a new session.
        if let previous = request.cookies[CabinetCookies.session]?.value { try await services.cabinetSessions.end(token: previous) }
        let (token, _) = try await services.cabinetSessions.create(
            userID: user.id,
            merchantID: merchantID,
            secondFactor: false,
            origin: Self.origin(request, context.clientAddressText)
        )
        var response = Response.redirect(to: "/cabinet", type: .normal)
        response.setCookie(CabinetCookies.make(CabinetCookies.session, token, maxAge: Int(CabinetSessions.absoluteLifetime)))
        response.setCookie(CabinetCookies.make(CabinetCookies.login, "", maxAge: 0))
        return response
    }

    func overview(_ context: CabinetContext) async throws -> Response {
        let principal = context.principal
        let now = services.clock.now()
        var view = CabinetPage(context, title: principal.merchant.name)
        var rows: [CertificateRow] = []
        for mode in [Mode.live, .test] {
            for info in try await services.certificates.list(merchantID: principal.merchant.id, mode: mode, limit: 100, withPEM: false) {
                rows.append(
                    CertificateRow(
                        name: info.name,
                        status: info.status(at: now).rawValue,
                        daysLeft: info.daysLeft(at: now),
                        notAfter: CabinetDates.day(info.notAfter)
                    )
                )
            }
        }
        view.certificates = rows
        view.hasCertificates = !rows.isEmpty
        view.merchants = try await otherMerchants(principal)
        view.banner = try await banner(merchantID: principal.merchant.id, now: now)
        return try page("overview", view)
    }

    /// "A banner on every page while any certificate is expired or critical", and while any key was
    /// reported leaked in the last 14 days.
    func banner(merchantID: String, now: Date) async throws -> CabinetBanner? {
        var banner = CabinetBanner()
        try await leakBanner(merchantID: merchantID, now: now, into: &banner)
        var expired = 0
        var critical = 0
        for mode in [Mode.live, .test] {
            for info in try await services.certificates.list(
                merchantID: merchantID,
                mode: mode,
                expiringWithin: CertificateStatus.criticalDays,
                limit: 1000,
                withPEM: false
            ) {
                if info.status(at: now) == .expired { expired += 1 } else { critical += 1 }
            }
        }
        guard expired + critical > 0 else { return banner.isEmpty ? nil : banner }
        var parts: [String] = []
        if expired > 0 { parts.append("\(expired) certificate\(expired == 1 ? " has" : "s have") expired") }
        if critical > 0 {
            parts.append("\(critical) certificate\(critical == 1 ? " expires" : "s expire") within \(CertificateStatus.criticalDays) days")
        }
        banner.certificates = parts.joined(separator: " and ") + "."
        return banner
    }
}

struct CertificateRow: Sendable {
    let name: String
    let status: String
    let daysLeft: Int
    let notAfter: String
    var mode = ""
    var type = ""
    var names = ""
    var issuer = ""
}

/// What every page template reads.
struct CabinetPage: Sendable {
    var title: String
    var message: String?
    var signedIn = false
    var email = ""
    var merchantName = ""
    var role = ""
    var csrf = ""
    var banner: CabinetBanner?
    var secret = ""
    var uri = ""
    var reason = ""
    var codes: [String] = []
    var certificates: [CertificateRow] = []
    var hasCertificates = false
    var mode = ""
    var canWrite = false
    var modes: [ModeLink] = []
    var keys: [KeyRow] = []
    var baseURL = ""
    var roles: [RoleOption] = []
    var permissions: [String] = []
    /// Keyward permissions the member may put on a credential they make (their role's).
    var grantable: [String] = []
    /// Whether the member's role holds every permission, and so may make unrestricted keys.
    var canMintUnrestricted = false
    var members: [MemberRow] = []
    var filter = ""
    var findings: [String] = []
    var chartWidth = 0
    var chartHeight = 0
    var chartDays = 0
    var axisY = 0
    var ticks: [ExpiryTimeline.Tick] = []
    var bars: [ExpiryTimeline.Bar] = []
    var entries: [AuditRowView] = []
    var notice: String?
    var nav = NavigationLinks()
    var keyAction: KeyActionView?
    var settings: SettingsView?
    var keyCheck: KeyCheckResult?
    var credentialsHTML = ""
    var channelRowsHTML = ""
    var applePayRowsHTML = ""
    var certificateOptionsHTML = ""
    var applePayRequest: ApplePayRequestView?
    var channel: ChannelView?
    var refreshSeconds: Int?
    var qrSVG = ""
    var merchants: [MerchantOption] = []
    var account: AccountView?
    var invitation: InvitationView?
    var passkeys: PasskeyView?
    var testMode: Bool { mode == Mode.test.rawValue }

    init(_ context: CabinetContext, title: String, message: String? = nil) {
        self.init(context.principal, title: title, message: message)
    }

    init(_ context: KeywardRequestContext?, title: String, message: String? = nil) {
        self.init(context?.cabinet, title: title, message: message)
    }

    init(_ principal: CabinetPrincipal?, title: String, message: String? = nil) {
        self.title = title
        self.message = message
        if let principal {
            signedIn = !principal.owesSecondFactor
            email = principal.user.email
            merchantName = principal.merchant.name
            role = principal.role.name
            csrf = principal.session.csrfToken
            nav = NavigationLinks(principal.role.permissions)
        }
    }
}

enum CabinetHTML {
    static func response(_ html: String, status: HTTPResponse.Status) -> Response {
        Response(
            status: status,
            headers: [
                .contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
                .contentSecurityPolicy: "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
                HTTPField.Name("X-Frame-Options")!: "DENY", HTTPField.Name("Referrer-Policy")!: "no-referrer",
            ],
            body: .init(byteBuffer: ByteBuffer(string: html))
        )
    }
}

enum TokenHashLike {
    static func random() -> String {
        var generator = SystemRandomNumberGenerator()
        return Base64URL.encode((0..<24).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
    }
}

/// Errors on cabinet pages are pages, not JSON.
struct CabinetErrorPages: RouterMiddleware {
    typealias Context = KeywardRequestContext
    let library: MustacheLibrary

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let redirect as CabinetRedirect {
            return .redirect(to: redirect.to, type: .normal)
        } catch let wrong as MethodNotAllowed {
            let status = HTTPResponse.Status.methodNotAllowed
            let message = wrong.refusal.message
            var response = CabinetHTML.response(
                library.render(CabinetPage(context, title: status.reasonPhrase, message: message), withTemplate: "error") ?? message,
                status: status
            )
            response.headers[.allow] = wrong.allow
            return response
        } catch let error as KeywardError {
            let status: HTTPResponse.Status =
                switch error.kind {
                case .forbidden: .forbidden
                case .notFound: .notFound
                case .tooLarge: .contentTooLarge
                case .unauthenticated: .unauthorized
                case .conflict: .conflict
                default: .badRequest
                }
            let html =
                library.render(CabinetPage(context, title: status.reasonPhrase, message: error.message), withTemplate: "error") ?? error.message
            return CabinetHTML.response(html, status: status)
        }
    }
}
