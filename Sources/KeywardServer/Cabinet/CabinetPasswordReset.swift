import Foundation
import Hummingbird
import KeywardCore

/// Password reset by a one-time link (valid one hour, once; every session of the account ends when it
/// is used). No mail transport is configured, so the link comes from an operator
/// (`keyward user reset --email …`); the "forgot password" page says so rather than pretending to send mail.
extension CabinetController {
    func addPasswordResetRoutes(to cabinet: RouterGroup<KeywardRequestContext>) {
        cabinet.get("forgot") { _, _ in try page("forgot", CabinetPage(nil, title: "Forgot your password?")) }
        cabinet.get("reset") { request, _ in try resetPage(token: request.uri.queryParameters["token"].map(String.init) ?? "", message: nil, status: .ok) }
        cabinet.post("reset") { request, _ -> Response in
            var request = request
            let form = try await CabinetForm.read(&request)
            let token = form["token"] ?? ""
            guard Self.passesDoubleSubmit(request, form) else {
                return try resetPage(token: token, message: "This form is out of date. Please try again.", status: .forbidden)
            }
            let user: UserInfo
            do {
                user = try await services.accounts.setPassword(token: token, purpose: "reset", password: form["password"] ?? "")
            } catch let error as KeywardError where error.code == "weak_password" || error.code == "invalid_link" {
                return try resetPage(token: token, message: error.message, status: .badRequest)
            }
            for merchantID in try await services.team.merchants(userID: user.id) {
                try await services.audit.record(merchantID: merchantID, actor: AuditActor(type: "user", id: user.id), action: "cabinet: reset password", targetID: user.id)
            }
            return .redirect(to: "/cabinet/login", type: .normal)
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
        <section class="card">
        <p>This Keyward has no mail transport configured, so it cannot email you a reset link.</p>
        <p>Ask the operator who runs it for a one-time reset link (valid for one hour): they issue one with
        <code>keyward user reset --email you@example.com</code>. Using the link signs you out everywhere;
        your second factor stays as it is.</p>
        <p><a href="/cabinet/login">Back to sign-in</a></p>
        </section>
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
