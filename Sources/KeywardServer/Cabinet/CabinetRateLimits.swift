import Foundation
import Hummingbird
import KeywardCore
import KeywardCrypto

/// The rate limits section of the Settings page (settings.write): the merchant-wide limit of each mode
/// and credentials' own limits, the same rules as `/v1/manage/rate-limits`.
extension CabinetController {
    func addRateLimitRoutes(to cabinet: CabinetRoutes) {
        cabinet.post("settings/rate-limits", .needs(.write(.settings, scope: .merchant))) { _, context -> Response in
            let (principal, form) = (context.principal, context.form)
            guard let live = Int((form["live_quota"] ?? "").trimmingCharacters(in: .whitespaces)),
                let test = Int((form["test_quota"] ?? "").trimmingCharacters(in: .whitespaces))
            else {
                return try await settingsPage(
                    context,
                    message: "A rate limit is a number of requests a second (1 to 1,000,000).",
                    notice: nil,
                    status: .badRequest
                )
            }
            do {
                for (mode, quota) in [(Mode.live, live), (.test, test)] {
                    _ = try await services.rateLimits.set(
                        merchantID: principal.merchant.id,
                        mode: mode,
                        subject: "merchant",
                        quota: quota,
                        windowSeconds: 1
                    )
                }
            } catch let error as KeywardError where error.kind == .invalidInput {
                return try await settingsPage(context, message: error.message, notice: nil, status: .badRequest)
            }
            await recordChange(merchantID: principal.merchant.id, actor: principal.auditActor, action: .rateLimitsSet, targetID: nil)
            return try await settingsPage(context, message: nil, notice: "Rate limits saved.", status: .ok)
        }
        cabinet.post("settings/rate-limits/credential", .needs(.write(.settings, scope: .merchant))) { _, context -> Response in
            let (principal, form) = (context.principal, context.form)
            let subject = (form["subject"] ?? "").trimmingCharacters(in: .whitespaces)
            guard let mode = form["mode"].flatMap(Mode.init(rawValue:)), let quota = Int((form["quota"] ?? "").trimmingCharacters(in: .whitespaces)),
                !subject.isEmpty, subject != "merchant"
            else {
                return try await settingsPage(
                    context,
                    message: "Give a credential id, its mode and a number of requests a second.",
                    notice: nil,
                    status: .badRequest
                )
            }
            do {
                _ = try await services.rateLimits.set(merchantID: principal.merchant.id, mode: mode, subject: subject, quota: quota, windowSeconds: 1)
            } catch let error as KeywardError where error.kind == .invalidInput || error.kind == .notFound {
                return try await settingsPage(context, message: error.message, notice: nil, status: .badRequest)
            }
            await recordChange(
                merchantID: principal.merchant.id,
                actor: principal.auditActor,
                action: .rateLimitSet,
                targetID: subject
            )
            return try await settingsPage(context, message: nil, notice: "Limit of \(subject) saved.", status: .ok)
        }
        cabinet.post("settings/rate-limits/remove", .needs(.write(.settings, scope: .merchant))) { _, context -> Response in
            let (principal, form) = (context.principal, context.form)
            let subject = form["subject"] ?? ""
            guard let mode = form["mode"].flatMap(Mode.init(rawValue:)), subject != "merchant",
                try await services.rateLimits.remove(merchantID: principal.merchant.id, mode: mode, subject: subject)
            else {
                return try await settingsPage(context, message: "That credential has no limit of its own.", notice: nil, status: .badRequest)
            }
            await recordChange(
                merchantID: principal.merchant.id,
                actor: principal.auditActor,
                action: .rateLimitRemove,
                targetID: subject
            )
            return try await settingsPage(context, message: nil, notice: "Limit of \(subject) removed.", status: .ok)
        }
    }

    /// One escaped row per credential limit, with its remove button.
    static func credentialLimitRows(_ entries: [RateLimitSettings.Entry], csrf: String) -> String {
        let e = HTML.escape
        guard !entries.isEmpty else { return "<tr><td colspan=\"4\">None yet: every credential shares its merchant's limit.</td></tr>" }
        return entries.map { entry in
            "<tr><td><code>\(e(entry.subject))</code></td><td>\(e(entry.mode.rawValue))</td><td>\(entry.quota) per \(entry.windowSeconds) s</td><td>"
                + "<form method=\"post\" action=\"/cabinet/settings/rate-limits/remove\"><input type=\"hidden\" name=\"csrf\" value=\"\(e(csrf))\">"
                + "<input type=\"hidden\" name=\"subject\" value=\"\(e(entry.subject))\"><input type=\"hidden\" name=\"mode\" value=\"\(e(entry.mode.rawValue))\">"
                + "<button type=\"submit\" class=\"danger\">Remove<span class=\"visually-hidden\"> the limit of \(e(entry.subject))</span></button></form></td></tr>"
        }.joined(separator: "\n")
    }
}
