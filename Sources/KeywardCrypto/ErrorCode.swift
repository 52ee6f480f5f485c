/// A stable machine code for a failure, the `code` of every problem+json answer and of every coded error
/// Keyward throws. Codes are `snake_case`, documented in README (*Error codes*) and never renamed.
///
/// A code is one of the `static let`s below and nothing else: the initialiser is private to this file, so
/// a typo is a compile error rather than a new undocumented code. `ErrorCode.all` (ErrorCode+Registry.swift)
/// lists them; a test fails when a `static let` is missing there or from README.
public struct ErrorCode: Hashable, Sendable, CustomStringConvertible {
    /// The code as it appears on the wire and in logs.
    public let rawValue: String

    fileprivate init(_ rawValue: String) { self.rawValue = rawValue }

    public var description: String { rawValue }
}

extension ErrorCode {
    /// The invited account has not finished its sign-up yet.
    public static let accountPending = ErrorCode("account_pending")
    /// ACME settings are incomplete or invalid (recorded on the channel, not an HTTP answer).
    public static let acmeBadConfiguration = ErrorCode("acme_bad_configuration")
    /// The ACME CA answered something Keyward cannot use (recorded on the channel).
    public static let acmeBadResponse = ErrorCode("acme_bad_response")
    /// The ACME CA could not validate the domain's challenge (recorded on the channel).
    public static let acmeChallengeFailed = ErrorCode("acme_challenge_failed")
    /// The ACME CA requires external account binding and none is configured (recorded on the channel).
    public static let acmeEABRequired = ErrorCode("acme_eab_required")
    /// The ACME order ended invalid (recorded on the channel).
    public static let acmeOrderFailed = ErrorCode("acme_order_failed")
    /// The ACME CA refused a request (recorded on the channel).
    public static let acmeRejected = ErrorCode("acme_rejected")
    /// The ACME order did not complete in time (recorded on the channel).
    public static let acmeTimeout = ErrorCode("acme_timeout")
    /// The ACME CA could not be reached (recorded on the channel).
    public static let acmeUnreachable = ErrorCode("acme_unreachable")
    /// The signature's algorithm is not accepted for this key.
    public static let algorithmNotAllowed = ErrorCode("algorithm_not_allowed")
    /// The person is already a member of this merchant.
    public static let alreadyMember = ErrorCode("already_member")
    /// Alliance: the session token has expired.
    public static let bExpiredToken = ErrorCode("b_expired_token")
    /// Alliance: no merchant has this service code.
    public static let bServiceCodeNotFound = ErrorCode("b_service_code_not_found")
    /// Alliance: no such device session.
    public static let bSessionDoesntExist = ErrorCode("b_session_doesnt_exist")
    /// The request could not be read.
    public static let badRequest = ErrorCode("bad_request")
    /// The request body is larger than this endpoint accepts.
    public static let bodyTooLarge = ErrorCode("body_too_large")
    /// The certificate does not name the channel's domain.
    public static let certificateDoesNotCoverDomain = ErrorCode("certificate_does_not_cover_domain")
    /// The certificate has expired (also an upload finding).
    public static let certificateExpired = ErrorCode("certificate_expired")
    /// The certificate does not answer this certificate request (its key differs).
    public static let certificateNotForThisRequest = ErrorCode("certificate_not_for_this_request")
    /// The channel needs a certificate.
    public static let certificateRequired = ErrorCode("certificate_required")
    /// The named certificate is not an SSL certificate with its private key.
    public static let certificateUnusable = ErrorCode("certificate_unusable")
    /// Upload finding: a certificate in the chain is not signed by the next one.
    public static let chainBroken = ErrorCode("chain_broken")
    /// Upload finding (note): the chain stops before a root.
    public static let chainIncomplete = ErrorCode("chain_incomplete")
    /// Upload finding: the chain loops.
    public static let chainLoop = ErrorCode("chain_loop")
    /// Upload finding (note): the chain was sent out of order and was reordered.
    public static let chainReordered = ErrorCode("chain_reordered")
    /// Cabinet: the form's CSRF token is missing or wrong.
    public static let csrfFailed = ErrorCode("csrf_failed")
    /// The JWE does not decrypt with this key, or a part was altered.
    public static let decryptionFailed = ErrorCode("decryption_failed")
    /// Content-Digest does not match the body.
    public static let digestMismatch = ErrorCode("digest_mismatch")
    /// The channel's domain has not been verified yet.
    public static let domainNotVerified = ErrorCode("domain_not_verified")
    /// The host name is reserved (the server's own names and special-use names).
    public static let domainReserved = ErrorCode("domain_reserved")
    /// Another merchant has claimed this domain.
    public static let domainTaken = ErrorCode("domain_taken")
    /// A signed parameter appears more than once.
    public static let duplicateParameter = ErrorCode("duplicate_parameter")
    /// The content could not be encrypted to this JWK.
    public static let encryptionFailed = ErrorCode("encryption_failed")
    /// An uploaded certificate file is larger than accepted.
    public static let fileTooLarge = ErrorCode("file_too_large")
    /// An API call over plain HTTP (refused, never redirected).
    public static let httpsRequired = ErrorCode("https_required")
    /// The credential or role lacks the permission this call needs.
    public static let insufficientPermissions = ErrorCode("insufficient_permissions")
    /// Something failed on Keyward's side; quote the request id.
    public static let internalError = ErrorCode("internal_error")
    /// The AliKassa account id is not valid.
    public static let invalidAccount = ErrorCode("invalid_account")
    /// The amount is not a valid decimal amount.
    public static let invalidAmount = ErrorCode("invalid_amount")
    /// The upload was refused (code of an upload whose findings name no error).
    public static let invalidCertificate = ErrorCode("invalid_certificate")
    /// An IP allowlist entry is not a valid address or CIDR.
    public static let invalidCIDR = ErrorCode("invalid_cidr")
    /// The one-time or recovery code is wrong (401 when signing in).
    public static let invalidCode = ErrorCode("invalid_code")
    /// Wrong e-mail or password.
    public static let invalidCredentials = ErrorCode("invalid_credentials")
    /// The currency is not a three-letter ISO 4217 code.
    public static let invalidCurrency = ErrorCode("invalid_currency")
    /// A date field is not an RFC 3339 timestamp.
    public static let invalidDate = ErrorCode("invalid_date")
    /// The store dialect is not one Keyward knows.
    public static let invalidDialect = ErrorCode("invalid_dialect")
    /// The host name is not a valid domain name.
    public static let invalidDomain = ErrorCode("invalid_domain")
    /// The e-mail address is not valid.
    public static let invalidEmail = ErrorCode("invalid_email")
    /// A field has an invalid value (`field` says which).
    public static let invalidField = ErrorCode("invalid_field")
    /// The Apple Pay domain-association file is empty or too large (413).
    public static let invalidFile = ErrorCode("invalid_file")
    /// The body is not valid JSON of the expected shape.
    public static let invalidJSON = ErrorCode("invalid_json")
    /// The JWE is malformed or uses an algorithm Keyward does not accept.
    public static let invalidJWE = ErrorCode("invalid_jwe")
    /// The JWK is malformed or not an accepted key type.
    public static let invalidJWK = ErrorCode("invalid_jwk")
    /// The secret key is unknown or malformed.
    public static let invalidKey = ErrorCode("invalid_key")
    /// `key_index` is out of range.
    public static let invalidKeyIndex = ErrorCode("invalid_key_index")
    /// The leaked test key grace period is out of range.
    public static let invalidLeakedTestKeyGrace = ErrorCode("invalid_leaked_test_key_grace")
    /// `limit` is not an integer from 1 to 1000.
    public static let invalidLimit = ErrorCode("invalid_limit")
    /// The invitation or reset link is invalid or expired.
    public static let invalidLink = ErrorCode("invalid_link")
    /// The merchant id (MID) is not valid.
    public static let invalidMID = ErrorCode("invalid_mid")
    /// The mode is neither test nor live.
    public static let invalidMode = ErrorCode("invalid_mode")
    /// The order id is not valid.
    public static let invalidOrderID = ErrorCode("invalid_order_id")
    /// Choose how long the old key keeps working (cabinet).
    public static let invalidOverlap = ErrorCode("invalid_overlap")
    /// The passphrase for a private key export is not 12 to 1024 bytes.
    public static let invalidPassphrase = ErrorCode("invalid_passphrase")
    /// The payment key is not valid.
    public static let invalidPaymentKey = ErrorCode("invalid_payment_key")
    /// A permission name is unknown.
    public static let invalidPermission = ErrorCode("invalid_permission")
    /// The permissions list is invalid or wider than the creator's.
    public static let invalidPermissions = ErrorCode("invalid_permissions")
    /// The public key cannot be used for this store.
    public static let invalidPublicKey = ErrorCode("invalid_public_key")
    /// A rate limit value is out of range.
    public static let invalidRateLimit = ErrorCode("invalid_rate_limit")
    /// The secret scanning report is not in the expected format.
    public static let invalidReport = ErrorCode("invalid_report")
    /// The DNS resolver address is not valid.
    public static let invalidResolver = ErrorCode("invalid_resolver")
    /// The role is unknown.
    public static let invalidRole = ErrorCode("invalid_role")
    /// The key rotation period is out of range.
    public static let invalidRotationDays = ErrorCode("invalid_rotation_days")
    /// The myPOS store id (SID) is not valid.
    public static let invalidSID = ErrorCode("invalid_sid")
    /// The rate limit subject is unknown.
    public static let invalidSubject = ErrorCode("invalid_subject")
    /// The certificate type is not one this endpoint accepts.
    public static let invalidType = ErrorCode("invalid_type")
    /// The URL is not an absolute https URL.
    public static let invalidURL = ErrorCode("invalid_url")
    /// The myPOS wallet number is not valid.
    public static let invalidWalletNumber = ErrorCode("invalid_wallet_number")
    /// The caller's address is not in the credential's allowlist.
    public static let ipNotAllowed = ErrorCode("ip_not_allowed")
    /// The JWE is larger than accepted.
    public static let jweTooLarge = ErrorCode("jwe_too_large")
    /// A JWK is already registered for this merchant and mode.
    public static let jwkExists = ErrorCode("jwk_exists")
    /// The key has already been rolled.
    public static let keyAlreadyRolled = ErrorCode("key_already_rolled")
    /// The credential has expired.
    public static let keyExpired = ErrorCode("key_expired")
    /// The key is expired or revoked and cannot be rolled.
    public static let keyInactive = ErrorCode("key_inactive")
    /// The store already has a key with this index.
    public static let keyIndexTaken = ErrorCode("key_index_taken")
    /// Upload finding: the private key does not match the certificate.
    public static let keyMismatch = ErrorCode("key_mismatch")
    /// The credential has been revoked (409 when changing a revoked key).
    public static let keyRevoked = ErrorCode("key_revoked")
    /// The last owner of a merchant cannot be removed or demoted.
    public static let lastOwner = ErrorCode("last_owner")
    /// Upload finding (warning): the leaf certificate is a CA certificate.
    public static let leafIsCA = ErrorCode("leaf_is_ca")
    /// Merchant-wide state needs a live-mode key.
    public static let liveKeyRequired = ErrorCode("live_key_required")
    /// Too many failed sign-ins: wait and retry (cabinet answers 429).
    public static let loginLocked = ErrorCode("login_locked")
    /// A certificate in the upload cannot be read.
    public static let malformedCertificate = ErrorCode("malformed_certificate")
    /// Cabinet: the form body cannot be read.
    public static let malformedForm = ErrorCode("malformed_form")
    /// The key cannot be read (PEM, DER or PKCS#8).
    public static let malformedKey = ErrorCode("malformed_key")
    /// Signature-Input is not a valid structured-field dictionary.
    public static let malformedSignatureInput = ErrorCode("malformed_signature_input")
    /// Start refused: the master key file does not open the database's secrets.
    public static let masterKeyMismatch = ErrorCode("master_key_mismatch")
    /// Start refused: no master key file, but the database holds sealed secrets.
    public static let masterKeyMissing = ErrorCode("master_key_missing")
    /// The endpoint does not accept that HTTP method.
    public static let methodNotAllowed = ErrorCode("method_not_allowed")
    /// The metrics token is wrong.
    public static let metricsForbidden = ErrorCode("metrics_forbidden")
    /// The metrics endpoint needs its token.
    public static let metricsTokenRequired = ErrorCode("metrics_token_required")
    /// Another merchant has this MID.
    public static let midTaken = ErrorCode("mid_taken")
    /// The request carries no credentials.
    public static let missingCredentials = ErrorCode("missing_credentials")
    /// A required field is missing (`field` says which).
    public static let missingField = ErrorCode("missing_field")
    /// Upload finding: the files hold no certificate.
    public static let noCertificate = ErrorCode("no_certificate")
    /// Alliance: the merchant has no JWK registered.
    public static let noJWKRegistered = ErrorCode("no_jwk_registered")
    /// The merchant has no active payment key.
    public static let noPaymentKey = ErrorCode("no_payment_key")
    /// Upload finding: the upload has no private key.
    public static let noPrivateKey = ErrorCode("no_private_key")
    /// Upload finding (warning): the certificate names no subject alternative names.
    public static let noSubjectAltNames = ErrorCode("no_subject_alt_names")
    /// The upload is not a certificate file.
    public static let notACertificateFile = ErrorCode("not_a_certificate_file")
    /// No such endpoint.
    public static let notFound = ErrorCode("not_found")
    /// The channel's certificate is not managed by Keyward.
    public static let notManaged = ErrorCode("not_managed")
    /// The text is not PEM.
    public static let notPEM = ErrorCode("not_pem")
    /// Cabinet: sign in first.
    public static let notSignedIn = ErrorCode("not_signed_in")
    /// Upload finding: the certificate is not valid yet.
    public static let notYetValid = ErrorCode("not_yet_valid")
    /// The order id contains the signature separator.
    public static let orderIDHasSeparator = ErrorCode("order_id_has_separator")
    /// Cabinet: only an owner may do this.
    public static let ownerRequired = ErrorCode("owner_required")
    /// Passkeys are added from the account page once signed in.
    public static let passkeyEnrolmentClosed = ErrorCode("passkey_enrolment_closed")
    /// This passkey is already registered.
    public static let passkeyExists = ErrorCode("passkey_exists")
    /// The passkey is not registered to any account.
    public static let passkeyUnknown = ErrorCode("passkey_unknown")
    /// Several active payment keys: name the one to use.
    public static let paymentKeyAmbiguous = ErrorCode("payment_key_ambiguous")
    /// The encrypted key's PBKDF2 iteration count is above the accepted limit.
    public static let pbkdf2RoundsTooHigh = ErrorCode("pbkdf2_rounds_too_high")
    /// A private JWK was sent where only a public one is accepted.
    public static let privateJWKNotAccepted = ErrorCode("private_jwk_not_accepted")
    /// A private key was sent where only a public one is accepted.
    public static let privateKeyNotAccepted = ErrorCode("private_key_not_accepted")
    /// Keyward kept only the public part of this key; the private key was shown once.
    public static let privateKeyNotKept = ErrorCode("private_key_not_kept")
    /// A rate limit of the merchant or credential is used up.
    public static let rateLimited = ErrorCode("rate_limited")
    /// The signature's nonce has been used already.
    public static let replayedRequest = ErrorCode("replayed_request")
    /// The certificate request has already been completed.
    public static let requestCompleted = ErrorCode("request_completed")
    /// No such object in this merchant and mode.
    public static let resourceMissing = ErrorCode("resource_missing")
    /// The RSA key is shorter than 2048 bits.
    public static let rsaKeyTooSmall = ErrorCode("rsa_key_too_small")
    /// Too many wrong second-factor codes: locked for a while.
    public static let secondFactorLocked = ErrorCode("second_factor_locked")
    /// Secret scanning is not configured on this server.
    public static let secretScanningNotConfigured = ErrorCode("secret_scanning_not_configured")
    /// Upload finding (warning or note): the certificate is self-signed.
    public static let selfSigned = ErrorCode("self_signed")
    /// Too much CPU-heavy work queued; retry after a second.
    public static let serverBusy = ErrorCode("server_busy")
    /// Upload finding: more than one leaf certificate.
    public static let severalLeaves = ErrorCode("several_leaves")
    /// The upload holds more than one private key.
    public static let severalPrivateKeys = ErrorCode("several_private_keys")
    /// Sign in to accept the invitation.
    public static let signInRequired = ErrorCode("sign_in_required")
    /// The signature is expired or not yet valid.
    public static let signatureExpired = ErrorCode("signature_expired")
    /// The signature does not verify (400 for malformed signed forms).
    public static let signatureInvalid = ErrorCode("signature_invalid")
    /// The request carries no signature.
    public static let signatureMissing = ErrorCode("signature_missing")
    /// KeywardClient: the request could not be signed (client library, not an HTTP answer).
    public static let signingFailed = ErrorCode("signing_failed")
    /// The database could not be reached or was busy; retry (`Retry-After`).
    public static let storageUnavailable = ErrorCode("storage_unavailable")
    /// Another store has this id.
    public static let storeIDTaken = ErrorCode("store_id_taken")
    /// Cabinet: a page template is missing.
    public static let templateMissing = ErrorCode("template_missing")
    /// The Alliance cipher helpers work with test credentials only.
    public static let testModeOnly = ErrorCode("test_mode_only")
    /// The upload holds more certificates than accepted.
    public static let tooManyCertificates = ErrorCode("too_many_certificates")
    /// The store has as many keys as it may.
    public static let tooManyKeys = ErrorCode("too_many_keys")
    /// The form has more parameters than accepted.
    public static let tooManyParameters = ErrorCode("too_many_parameters")
    /// The account has as many passkeys as it may.
    public static let tooManyPasskeys = ErrorCode("too_many_passkeys")
    /// The merchant has as many open device sessions in this mode as it may.
    public static let tooManySessions = ErrorCode("too_many_sessions")
    /// The secret scanning report names too many tokens.
    public static let tooManyTokens = ErrorCode("too_many_tokens")
    /// TOTP is already enabled.
    public static let totpEnabled = ErrorCode("totp_enabled")
    /// No TOTP enrolment is pending.
    public static let totpNotPending = ErrorCode("totp_not_pending")
    /// The account needs its second factor.
    public static let totpRequired = ErrorCode("totp_required")
    /// Upload finding: the certificate has a critical extension Keyward does not know.
    public static let unknownCriticalExtension = ErrorCode("unknown_critical_extension")
    /// A domain named is not one of the channel's domains.
    public static let unknownDomain = ErrorCode("unknown_domain")
    /// The body has a field this endpoint does not accept.
    public static let unknownField = ErrorCode("unknown_field")
    /// The signature names a key index the store does not have.
    public static let unknownKeyIndex = ErrorCode("unknown_key_index")
    /// The secret scanning signature's key is unknown.
    public static let unknownScannerKey = ErrorCode("unknown_scanner_key")
    /// The signature names a store Keyward does not know.
    public static let unknownStore = ErrorCode("unknown_store")
    /// Only an unrestricted key may do this.
    public static let unrestrictedKeyRequired = ErrorCode("unrestricted_key_required")
    /// The key or signature algorithm is not supported.
    public static let unsupportedAlgorithm = ErrorCode("unsupported_algorithm")
    /// Alliance: the API version is not supported.
    public static let unsupportedAPIVersion = ErrorCode("unsupported_api_version")
    /// The signature covers a component Keyward does not support.
    public static let unsupportedComponent = ErrorCode("unsupported_component")
    /// The body's content type is not accepted here.
    public static let unsupportedMediaType = ErrorCode("unsupported_media_type")
    /// The PEM block type is not a key Keyward reads.
    public static let unsupportedPEMType = ErrorCode("unsupported_pem_type")
    /// The upstream payment API could not be reached.
    public static let upstreamUnavailable = ErrorCode("upstream_unavailable")
    /// The password is too weak.
    public static let weakPassword = ErrorCode("weak_password")
    /// The passkey's attestation does not verify.
    public static let webauthnBadAttestation = ErrorCode("webauthn_bad_attestation")
    /// The passkey's signature does not verify.
    public static let webauthnBadSignature = ErrorCode("webauthn_bad_signature")
    /// The passkey challenge has expired.
    public static let webauthnChallengeExpired = ErrorCode("webauthn_challenge_expired")
    /// The passkey answered another challenge.
    public static let webauthnChallengeMismatch = ErrorCode("webauthn_challenge_mismatch")
    /// The passkey challenge is unknown.
    public static let webauthnChallengeUnknown = ErrorCode("webauthn_challenge_unknown")
    /// The passkey data cannot be read (401 when signing in).
    public static let webauthnMalformed = ErrorCode("webauthn_malformed")
    /// The passkey was used from another origin.
    public static let webauthnOriginMismatch = ErrorCode("webauthn_origin_mismatch")
    /// The passkey was made for another site.
    public static let webauthnRPMismatch = ErrorCode("webauthn_rp_mismatch")
    /// The passkey's counter did not advance (possible clone).
    public static let webauthnSignCount = ErrorCode("webauthn_sign_count")
    /// The passkey's key algorithm is not accepted.
    public static let webauthnUnsupportedAlgorithm = ErrorCode("webauthn_unsupported_algorithm")
    /// The passkey's attestation format is not accepted.
    public static let webauthnUnsupportedAttestation = ErrorCode("webauthn_unsupported_attestation")
    /// The authenticator did not confirm a person was present.
    public static let webauthnUserNotPresent = ErrorCode("webauthn_user_not_present")
    /// The client data is of the wrong type.
    public static let webauthnWrongType = ErrorCode("webauthn_wrong_type")
    /// The webhook URL points to a non-public address.
    public static let webhookDestinationForbidden = ErrorCode("webhook_destination_forbidden")
    /// The webhook host does not resolve.
    public static let webhookHostUnresolvable = ErrorCode("webhook_host_unresolvable")
    /// Wildcard domains are not accepted.
    public static let wildcardNotAllowed = ErrorCode("wildcard_not_allowed")
    /// The passphrase does not decrypt the key.
    public static let wrongPassphrase = ErrorCode("wrong_passphrase")
}
