/// What an audit entry says was done: one vocabulary for every way into Keyward.
///
/// The same change has the same action whether a merchant's key made it through the management API, a
/// member through the cabinet, the operator through the CLI or Keyward's own workers; the entry's actor
/// type (`key`, `user`, `operator`, `system`) says which way it came. Names are `object.verb`, lower case
/// with underscores, and never change once released: auditors filter on them (`?action=secret_key.roll`).
/// An entry may carry a detail after the name (`member.invite Developer`, `domain.verified shop.example
/// (dns)`); the name alone is what a filter or a report relies on.
public struct AuditAction: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }

    /// The name as written in the log, without detail.
    public var description: String { rawValue }

    /// The entry's action text: the name, then `detail` when there is one.
    public func text(detail: String? = nil) -> String {
        guard let detail, !detail.isEmpty else { return rawValue }
        return "\(rawValue) \(detail)"
    }

    /// The registered action an entry's action text names, or nil for entries written before this
    /// vocabulary (`POST /v1/manage/keys`, `cabinet: roll secret key`).
    public static func named(in text: String) -> AuditAction? {
        let name = String(text.prefix { $0 != " " })
        return all[name]
    }

    /// Every action, by name.
    public static let all: [String: AuditAction] = Dictionary(
        uniqueKeysWithValues: AuditAction.documented.map { ($0.action.rawValue, $0.action) }
    )
}

// MARK: - Credentials

extension AuditAction {
    public static let secretKeyCreate = AuditAction(rawValue: "secret_key.create")
    public static let secretKeyRoll = AuditAction(rawValue: "secret_key.roll")
    public static let secretKeyRevoke = AuditAction(rawValue: "secret_key.revoke")
    public static let secretKeyLeaked = AuditAction(rawValue: "key.leaked")
    public static let paymentKeyCreate = AuditAction(rawValue: "payment_key.create")
    public static let paymentKeyRoll = AuditAction(rawValue: "payment_key.roll")
    public static let paymentKeyRevoke = AuditAction(rawValue: "payment_key.revoke")
    public static let orderHashSign = AuditAction(rawValue: "order_hash.sign")
    public static let orderHashVerify = AuditAction(rawValue: "order_hash.verify")
    public static let signingKeySave = AuditAction(rawValue: "signing_key.save")
    public static let signingKeyGenerate = AuditAction(rawValue: "signing_key.generate")
    public static let signingKeyExportPrivate = AuditAction(rawValue: "signing_key.export_private")
    public static let signingKeyRevoke = AuditAction(rawValue: "signing_key.revoke")
    public static let jwkSave = AuditAction(rawValue: "jwk.save")
    public static let jwkGenerate = AuditAction(rawValue: "jwk.generate")
    public static let jwkRevoke = AuditAction(rawValue: "jwk.revoke")
    public static let deviceSessionRevoke = AuditAction(rawValue: "device_session.revoke")
    public static let storeCreate = AuditAction(rawValue: "store.create")
    public static let storeKeySave = AuditAction(rawValue: "store_key.save")
    public static let storeKeyGenerate = AuditAction(rawValue: "store_key.generate")
    public static let storeKeyExportPrivate = AuditAction(rawValue: "store_key.export_private")
    public static let storeKeyRevoke = AuditAction(rawValue: "store_key.revoke")
}

// MARK: - Merchant settings

extension AuditAction {
    public static let settingsChange = AuditAction(rawValue: "settings.change")
    public static let webhookSet = AuditAction(rawValue: "webhook.set")
    public static let webhookRemove = AuditAction(rawValue: "webhook.remove")
    public static let rateLimitsSet = AuditAction(rawValue: "rate_limits.set")
    public static let rateLimitSet = AuditAction(rawValue: "rate_limit.set")
    public static let rateLimitRemove = AuditAction(rawValue: "rate_limit.remove")
    public static let passkeyPolicyChange = AuditAction(rawValue: "passkey_policy.change")
}

// MARK: - Certificates and sales channels

extension AuditAction {
    public static let certificateUpload = AuditAction(rawValue: "certificate.upload")
    public static let applePayRequestCreate = AuditAction(rawValue: "apple_pay_request.create")
    public static let applePayCertificateUpload = AuditAction(rawValue: "apple_pay_certificate.upload")
    public static let applePayDomainAssociationSet = AuditAction(rawValue: "apple_pay_domain_association.set")
    public static let applePayDomainAssociationRemove = AuditAction(rawValue: "apple_pay_domain_association.remove")
    public static let channelCreate = AuditAction(rawValue: "channel.create")
    public static let channelRemove = AuditAction(rawValue: "channel.remove")
    public static let channelRenew = AuditAction(rawValue: "channel.renew")
    public static let channelVerifyDomains = AuditAction(rawValue: "channel.verify_domains")
    public static let channelCertificateIssued = AuditAction(rawValue: "channel.certificate_issued")
    public static let channelCertificateRenewed = AuditAction(rawValue: "channel.certificate_renewed")
    public static let channelOrderFailed = AuditAction(rawValue: "channel.order_failed")
    public static let domainVerified = AuditAction(rawValue: "domain.verified")
    public static let domainVerificationLapsed = AuditAction(rawValue: "domain.verification_lapsed")
}

// MARK: - Team and accounts

extension AuditAction {
    public static let merchantCreate = AuditAction(rawValue: "merchant.create")
    public static let memberInvite = AuditAction(rawValue: "member.invite")
    public static let memberRemove = AuditAction(rawValue: "member.remove")
    public static let memberChangeRole = AuditAction(rawValue: "member.change_role")
    public static let invitationAccept = AuditAction(rawValue: "invitation.accept")
    public static let roleCreate = AuditAction(rawValue: "role.create")
    public static let passwordChange = AuditAction(rawValue: "password.change")
    public static let passwordReset = AuditAction(rawValue: "password.reset")
    public static let passwordResetLink = AuditAction(rawValue: "password.reset_link")
    public static let recoveryCodesRenew = AuditAction(rawValue: "recovery_codes.renew")
    public static let passkeyAdd = AuditAction(rawValue: "passkey.add")
    public static let passkeyRemove = AuditAction(rawValue: "passkey.remove")
    public static let passkeyCounterRegressed = AuditAction(rawValue: "passkey.counter_regressed")
    public static let sessionsEndAll = AuditAction(rawValue: "sessions.end_all")
    public static let signInNewAddress = AuditAction(rawValue: "sign_in.new_address")
    public static let secondFactorLocked = AuditAction(rawValue: "second_factor.locked")
}

// MARK: - Platform

extension AuditAction {
    public static let masterKeyRotate = AuditAction(rawValue: "master_key.rotate")
}

// MARK: - Refusals

extension AuditAction {
    /// A change sent to a management path that does not exist (the detail is the method and path).
    public static let unknownEndpoint = AuditAction(rawValue: "api.unknown_endpoint")
}
