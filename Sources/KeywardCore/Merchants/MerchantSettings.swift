import Foundation
import SQLKit

/// A merchant's own settings (the cabinet's Settings page and `/v1/manage/settings`).
public struct MerchantSettings: Sendable, Equatable, Codable {
    /// Keys older than this many days are flagged for rotation (default 90).
    public var rotationDays: Int
    /// Networks every API call with this merchant's secret keys must come from (empty: anywhere), on top
    /// of each key's own allowlist.
    public var allowedIPs: [IPNetwork]
    /// How long a TEST key reported leaked by a secret scanner keeps working before it expires (0: it is
    /// revoked at once, the default). Live keys are always revoked at once.
    public var leakedTestKeyGraceSeconds: Int = 0
    /// Members whose role can see live keys must give a passkey at sign-in (TOTP and recovery codes no
    /// longer pass the second-factor step for them). Changed by an owner only.
    public var passkeysRequired: Bool = false
    /// When they last changed (nil: never, the defaults apply).
    public var updatedAt: Date?

    public static let defaultRotationDays = 90
    public static let rotationDayRange = 7...730
    /// At most an hour: a leaked key is public, the overlap only bridges a test deployment's switch.
    public static let leakedTestKeyGraceRange = 0...3600

    public static let defaults = MerchantSettings(rotationDays: defaultRotationDays, allowedIPs: [], updatedAt: nil)

    public init(rotationDays: Int, allowedIPs: [IPNetwork], leakedTestKeyGraceSeconds: Int = 0, updatedAt: Date?) {
        self.rotationDays = rotationDays
        self.allowedIPs = allowedIPs
        self.leakedTestKeyGraceSeconds = leakedTestKeyGraceSeconds
        self.updatedAt = updatedAt
    }
}

/// Reads and changes merchant settings. A change to the allowlist bumps the credential revision, so
/// every instance's key cache forgets what it knew and the new list applies at once.
public struct MerchantSettingsService: Sendable {
    let store: KeywardStore
    let changes: CredentialChanges
    let clock: KeywardClock

    public init(store: KeywardStore, changes: CredentialChanges, clock: KeywardClock = .system) {
        self.store = store
        self.changes = changes
        self.clock = clock
    }

    struct Row: Codable {
        let merchant_id: String
        let rotation_days: Int64
        let allowed_ips: String
        let updated_ms: Int64
        let leaked_test_key_grace_seconds: Int64?
        var passkeys_required: Int64? = nil
    }

    public func get(merchantID: String) async throws -> MerchantSettings {
        guard
            let row = try await store.sql.select().column("*").from("merchant_settings").where("merchant_id", .equal, merchantID)
                .first(decoding: Row.self)
        else { return .defaults }
        var settings = MerchantSettings(
            rotationDays: Int(row.rotation_days),
            allowedIPs: JSONText.decode([IPNetwork].self, row.allowed_ips) ?? [],
            leakedTestKeyGraceSeconds: Int(row.leaked_test_key_grace_seconds ?? 0),
            updatedAt: Date(millis: row.updated_ms)
        )
        settings.passkeysRequired = (row.passkeys_required ?? 0) != 0
        return settings
    }

    /// Changes what is given (nil leaves a setting as it is) and returns the result.
    public func update(
        merchantID: String,
        rotationDays: Int?,
        allowedIPs: [String]?,
        leakedTestKeyGraceSeconds: Int? = nil,
        passkeysRequired: Bool? = nil
    ) async throws -> MerchantSettings {
        _ = try await MerchantService(store: store, clock: clock).get(id: merchantID)
        var settings = try await get(merchantID: merchantID)
        if let rotationDays {
            guard MerchantSettings.rotationDayRange.contains(rotationDays) else {
                throw KeywardError.invalid(.invalidRotationDays, "The rotation period is 7 to 730 days.", field: "rotation_days")
            }
            settings.rotationDays = rotationDays
        }
        if let allowedIPs { settings.allowedIPs = try Validation.allowList(allowedIPs) }
        if let leakedTestKeyGraceSeconds {
            guard MerchantSettings.leakedTestKeyGraceRange.contains(leakedTestKeyGraceSeconds) else {
                throw KeywardError.invalid(
                    .invalidLeakedTestKeyGrace,
                    "The overlap of a leaked test key is 0 to 3600 seconds (0: revoke it at once).",
                    field: "leaked_test_key_grace_seconds"
                )
            }
            settings.leakedTestKeyGraceSeconds = leakedTestKeyGraceSeconds
        }
        if let passkeysRequired { settings.passkeysRequired = passkeysRequired }
        let now = clock.now()
        settings.updatedAt = now
        let row = Row(
            merchant_id: merchantID,
            rotation_days: Int64(settings.rotationDays),
            allowed_ips: JSONText.encode(settings.allowedIPs),
            updated_ms: now.millis,
            leaked_test_key_grace_seconds: Int64(settings.leakedTestKeyGraceSeconds),
            passkeys_required: settings.passkeysRequired ? 1 : 0
        )
        try await changes.commit(in: store) { sql in
            try await sql.delete(from: "merchant_settings").where("merchant_id", .equal, merchantID).run()
            try await sql.insert(into: "merchant_settings").model(row).run()
        }
        return settings
    }
}
