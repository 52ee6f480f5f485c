import Foundation
import KeywardCore

/// Sign-in alerts: when an account that can see live keys signs in with its password from an address
/// it never signed in from before, the account is mailed (when a relay is configured) and the sign-in is
/// recorded in the audit log of each merchant it belongs to. Someone holding a stolen password shows
/// up here even if the second factor then stops them.
extension CabinetController {
    func alertOnNewAddress(_ user: UserInfo, address: String) async throws {
        guard try await services.accounts.noteSignIn(userID: user.id, address: address) else { return }
        var liveMerchants: [String] = []
        for merchantID in try await services.team.merchants(userID: user.id) {
            if try await services.team.membership(userID: user.id, merchantID: merchantID)?.requiresSecondFactor == true {
                liveMerchants.append(merchantID)
            }
        }
        guard !liveMerchants.isEmpty else { return }
        for merchantID in liveMerchants {
            await recordChange(
                merchantID: merchantID,
                actor: AuditActor(type: "user", id: user.id, address: address),
                action: .signInNewAddress,
                targetID: user.id
            )
        }
        guard let mailer else { return }
        let body =
            "Your Keyward account (\(user.email)) was signed in to with its password from \(address), an address it had not used before, "
            + "at \(ISO8601DateFormatter().string(from: services.clock.now())).\n\n"
            + "If this was you, nothing needs doing. If not, change your password now and sign out everywhere from your account page.\n"
        do {
            try await mailer.send(to: user.email, subject: "Keyward: sign-in from a new address", body: body)
        } catch {
            services.logger.warning("sign-in alert mail failed", metadata: ["user": "\(user.id)", "reason": "\(type(of: error))"])
        }
    }
}
