import Foundation
import Hummingbird
import KeywardCore

/// What happens when wrong second-factor codes lock the step (at sign-in, for a live roll, for new
/// recovery codes): the session ends, and the first time, the lock is recorded in the audit log of
/// every merchant the account belongs to and mailed to the account when a relay is configured.
extension CabinetController {
    func secondFactorLocked(_ lockout: SecondFactorLockout, _ context: CabinetContext) async throws -> Response {
        let principal = context.principal
        try await services.cabinetSessions.end(token: principal.token)
        if lockout.justLocked {
            let address = context.clientAddressText
            for merchantID in try await services.team.merchants(userID: principal.user.id) {
                await recordChange(
                    merchantID: merchantID,
                    actor: AuditActor(type: "user", id: principal.user.id, address: address),
                    action: .secondFactorLocked,
                    targetID: principal.user.id,
                    outcome: "second_factor_locked"
                )
            }
            if let mailer {
                let body =
                    "Five wrong two-factor codes were entered for your Keyward account (\(principal.user.email)), the last from \(address).\n\n"
                    + "Two-factor sign-in is locked until \(ISO8601DateFormatter().string(from: lockout.until)) and that session was ended.\n"
                    + "If this was not you, someone knows your password: change it now.\n"
                do {
                    try await mailer.send(to: principal.user.email, subject: "Keyward: two-factor sign-in locked", body: body)
                } catch {
                    services.logger.warning(
                        "second-factor lock mail failed",
                        metadata: ["user": "\(principal.user.id)", "reason": "\(type(of: error))"]
                    )
                }
            }
        }
        var response = try loginPage(message: lockout.problem.message, email: principal.user.email, status: .tooManyRequests)
        response.setCookie(CabinetCookies.make(CabinetCookies.session, "", maxAge: 0))
        return response
    }
}
