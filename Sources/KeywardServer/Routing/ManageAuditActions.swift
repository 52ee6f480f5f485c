import KeywardCore

/// The audit action of every management route that changes something, from Core's one vocabulary
/// (`AuditAction`): a key rolled through the API is `secret_key.roll` as it is from the cabinet or
/// the CLI. Kept in one table (not at each registration) so a reviewer reads the API's whole audit
/// vocabulary in one place; the route table lists each route's action and its test fails on a
/// changing route without one.
enum ManageAuditActions {
    /// `METHOD path` (as the route table spells it) → action.
    static let byRoute: [String: AuditAction] = [
        "POST /v1/manage/keys": .secretKeyCreate,
        "POST /v1/manage/keys/{id}/roll": .secretKeyRoll,
        "POST /v1/manage/keys/{id}/revoke": .secretKeyRevoke,
        "POST /v1/manage/payment-keys": .paymentKeyCreate,
        "POST /v1/manage/payment-keys/{id}/roll": .paymentKeyRoll,
        "POST /v1/manage/payment-keys/{id}/revoke": .paymentKeyRevoke,
        "POST /v1/manage/order-hash": .orderHashSign,
        "POST /v1/manage/order-hash/verify": .orderHashVerify,
        "POST /v1/manage/signing-keys": .signingKeySave,
        "POST /v1/manage/signing-keys/generate": .signingKeyGenerate,
        "POST /v1/manage/signing-keys/{id}/private-key": .signingKeyExportPrivate,
        "POST /v1/manage/signing-keys/{id}/revoke": .signingKeyRevoke,
        "POST /v1/manage/jwks": .jwkSave,
        "POST /v1/manage/jwks/generate": .jwkGenerate,
        "POST /v1/manage/jwks/{id}/revoke": .jwkRevoke,
        "POST /v1/manage/device-sessions/{id}/revoke": .deviceSessionRevoke,
        "POST /v1/manage/stores": .storeCreate,
        "POST /v1/manage/stores/{id}/keys": .storeKeySave,
        "POST /v1/manage/stores/{id}/keys/generate": .storeKeyGenerate,
        "POST /v1/manage/stores/{id}/keys/{index}/private-key": .storeKeyExportPrivate,
        "POST /v1/manage/stores/{id}/keys/{index}/revoke": .storeKeyRevoke,
        "PATCH /v1/manage/settings": .settingsChange,
        "PUT /v1/manage/webhook": .webhookSet,
        "DELETE /v1/manage/webhook": .webhookRemove,
        "PUT /v1/manage/rate-limits/{mode}/{subject}": .rateLimitSet,
        "DELETE /v1/manage/rate-limits/{mode}/{subject}": .rateLimitRemove,
        "POST /v1/manage/certificates": .certificateUpload,
        "POST /v1/manage/apple-pay/certificate-requests": .applePayRequestCreate,
        "POST /v1/manage/apple-pay/certificate-requests/{id}/certificate": .applePayCertificateUpload,
        "PUT /v1/manage/apple-pay/domain-association": .applePayDomainAssociationSet,
        "DELETE /v1/manage/apple-pay/domain-association": .applePayDomainAssociationRemove,
        "POST /v1/manage/channels": .channelCreate,
        "DELETE /v1/manage/channels/{id}": .channelRemove,
        "POST /v1/manage/channels/{id}/renew": .channelRenew,
        "POST /v1/manage/channels/{id}/verify": .channelVerifyDomains,
    ]
}
