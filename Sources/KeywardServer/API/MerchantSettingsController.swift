import Foundation
import Hummingbird
import KeywardCore

/// `/v1/manage/settings`: the merchant's rotation period, merchant-wide IP allowlist and the overlap of
/// a leaked test key (the same settings as the cabinet's Settings page; `settings.write` for a restricted key).
struct MerchantSettingsController {
    let settings: MerchantSettingsService

    func addRoutes(to manage: ManageRoutes) {
        manage.get("settings", needs: .read(.settings, scope: .merchant)) { _, context in
            let key = context.principal
            return try JSONResponse.make(SettingsResource(try await settings.get(merchantID: key.merchantID)))
        }
        manage.patch("settings", needs: .write(.settings, scope: .merchant)) { request, context in
            let key = context.principal
            let body = try await JSONBody.decode(SettingsBody.self, from: request)
            // The passkey requirement binds the merchant's owners too: an owner's power, so an unrestricted key's only.
            if body.passkeys_required != nil, key.permissions != nil {
                throw KeywardError(
                    .forbidden,
                    .unrestrictedKeyRequired,
                    "Only an unrestricted key (or an owner in the cabinet) changes passkeys_required."
                )
            }
            let updated = try await settings.update(
                merchantID: key.merchantID,
                rotationDays: body.rotation_days,
                allowedIPs: body.allowed_ips,
                leakedTestKeyGraceSeconds: body.leaked_test_key_grace_seconds,
                passkeysRequired: body.passkeys_required
            )
            return try JSONResponse.make(SettingsResource(updated))
        }
    }
}

struct SettingsBody: StrictJSONBody {
    static let fields: Set<String> = ["rotation_days", "allowed_ips", "leaked_test_key_grace_seconds", "passkeys_required"]
    let rotation_days: Int?
    let allowed_ips: [String]?
    let leaked_test_key_grace_seconds: Int?
    let passkeys_required: Bool?
}

struct SettingsResource: Encodable {
    let object = "merchant_settings"
    let rotation_days: Int
    let allowed_ips: [String]
    let leaked_test_key_grace_seconds: Int
    let passkeys_required: Bool
    let updated_at: String?

    init(_ settings: MerchantSettings) {
        rotation_days = settings.rotationDays
        allowed_ips = settings.allowedIPs.map(\.description)
        leaked_test_key_grace_seconds = settings.leakedTestKeyGraceSeconds
        passkeys_required = settings.passkeysRequired
        updated_at = Timestamp.format(settings.updatedAt)
    }
}
