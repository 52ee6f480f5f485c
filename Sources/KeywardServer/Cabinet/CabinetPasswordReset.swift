import Foundation
import Hummingbird
import KeywardCore

/// Password reset by a one-time link (valid one hour, once; every session of the account ends when it
/// is used). With a mail transport the "forgot password" page mails it; without one the link comes from
/// an operator (`keyward user reset --email …`), and the page says so rather than pretending to send mail.
extension CabinetController {
    func addPasswordResetRoutes(to cabinet: CabinetRoutes) {
        cabinet.open("forgot", method: .get) { _, _ in try forgotPage(message: nil, notice: nil, status: .ok) }
        cabinet.open("forgot", method: .post) { request, _ -> Response in
            var request = request
            let form = try await CabinetForm.read(&request)
            guard let mailer else { return try forgotPage(message: nil, notice: nil, status: .ok) }
            guard Self.passesDoubleSubmit(request, form) else {
                return try forgotPage(message: "This form is out of date. Please try again.", notice: nil, status: .forbidden)
            }
            let email = form["email"] ?? ""
            // The same answer, at the same speed, whether or not the account exists: the mail goes out after.
            if let link = try await services.accounts.requestPasswordReset(email: email) {
                let url = "\(services.settings.publicBaseURL)/cabinet/reset?token=\(link.token)"
                let logger = services.logger
                Task {
                    do {
                        try await mailer.send(
                            to: email,
                            subject: "Reset your Keyward password",
                            body:
                                "Someone (hopefully you) asked to reset your Keyward password.\n\nChoose a new one within an hour (the link works once):\n\(url)\n\nIf it was not you, ignore this mail; your password stays as it is.\n"
                        )
                    } catch {
                        logger.warning("password reset mail failed", metadata: ["reason": "\(error)"])
                    }
                }
            }
            return try forgotPage(
                message: nil,
                notice: "If an account has this address, a link to reset its password is on its way (valid one hour).",
                status: .ok
            )
        }
        cabinet.open("reset", method: .get) { request, _ in
            try resetPage(token: request.uri.queryParameters["token"].map(String.init) ?? "", message: nil, status: .ok)
        }
        cabinet.open("reset", method: .post) { request, _ -> Response in
            var request = request
            let form = try await CabinetForm.read(&request)
            let token = form["token"] ?? ""
            guard Self.passesDoubleSubmit(request, form) else {
                return try resetPage(token: token, message: "This form is out of date. Please try again.", status: .forbidden)
            }
            let user: UserInfo
            do {
                user = try await services.accounts.setPassword(token: token, purpose: "reset", password: form["password"] ?? "")
            } catch let error as KeywardError where error.code == .weakPassword || error.code == .invalidLink {
                return try resetPage(token: token, message: error.message, status: .badRequest)
            }
            for merchantID in try await services.team.merchants(userID: user.id) {
                await recordChange(
                    merchantID: merchantID,
                    actor: AuditActor(type: "user", id: user.id),
                    action: .passwordReset,
                    targetID: user.id
                )
            }
            return .redirect(to: "/cabinet/login", type: .normal)
        }
    }

    func forgotPage(message: String?, notice: String?, status: HTTPResponse.Status) throws -> Response {
        try anonymousFormPage("forgot", title: "Forgot your password?", message: message, status: status) { view in
            view.notice = notice
            view.canWrite = mailer != nil
        }
    }

    func resetPage(token: String, message: String?, status: HTTPResponse.Status) throws -> Response {
        try anonymousFormPage("reset", title: "Choose a new password", message: message, status: status) { $0.secret = token }
    }
}

extension CabinetTemplates {
    static let forgot = """
        {{> head}}
        <h1>Forgot your password?</h1>
        {{#canWrite}}
        <form class="card" method="post" action="/cabinet/forgot">
        {{#message}}<p class="error" role="alert">{{message}}</p>{{/message}}
        {{#notice}}<p role="status">{{notice}}</p>{{/notice}}
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label for="email">Email of your account</label>
        <input id="email" name="email" type="email" autocomplete="username" required>
        <button type="submit">Mail me a reset link</button>
        <p>Using the link signs you out everywhere; your second factor stays as it is.</p>
        </form>
        {{/canWrite}}
        {{^canWrite}}
        <section class="card">
        <p>This Keyward has no mail transport configured, so it cannot email you a reset link.</p>
        <p>Ask the operator who runs it for a one-time reset link (valid for one hour): they issue one with
        <code>keyward user reset --email you@example.com</code>. Using the link signs you out everywhere;
        your second factor stays as it is.</p>
        </section>
        {{/canWrite}}
        <p><a href="/cabinet/login">Back to sign-in</a></p>
        {{> foot}}
        """

    static let reset = """
        {{> head}}
        <h1>Choose a new password</h1>
        <form class="card" method="post" action="/cabinet/reset">
        {{#message}}<p class="error" role="alert">{{message}}</p>{{/message}}
        <input type="hidden" name="csrf" value="{{csrf}}">
        <input type="hidden" name="token" value="{{secret}}">
        <label for="password">New password (12 characters or more)</label>
        <input id="password" name="password" type="password" autocomplete="new-password" minlength="12" required>
        <button type="submit">Save and sign in</button>
        </form>
        {{> foot}}
        """
}
