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
            let updated = try await settings.update(merchantID: key.merchantID, rotationDays: body.rotation_days, allowedIPs: body.allowed_ips,
                                                    leakedTestKeyGraceSeconds: body.leaked_test_key_grace_seconds)
            return try JSONResponse.make(SettingsResource(updated))
        }
    }
}

struct SettingsBody: StrictJSONBody {
    static let fields: Set<String> = ["rotation_days", "allowed_ips", "leaked_test_key_grace_seconds"]
    let rotation_days: Int?
    let allowed_ips: [String]?
    let leaked_test_key_grace_seconds: Int?
}

struct SettingsResource: Encodable {
    let object = "merchant_settings"
    let rotation_days: Int
    let allowed_ips: [String]
    let leaked_test_key_grace_seconds: Int
    let updated_at: String?

    init(_ settings: MerchantSettings) {
        rotation_days = settings.rotationDays
        allowed_ips = settings.allowedIPs.map(\.description)
        leaked_test_key_grace_seconds = settings.leakedTestKeyGraceSeconds
        updated_at = Timestamp.format(settings.updatedAt)
    }
}
