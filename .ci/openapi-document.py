#!/usr/bin/env python3
"""The OpenAPI document of Keyward's /v1 API, written as Python for brevity: edit it here, then run
`python3 .ci/openapi-document.py` to regenerate Sources/KeywardServer/API/OpenAPI/OpenAPIDocument.swift (the
served copy). `.ci/schemathesis.sh` fails when the two differ; `OpenAPITests` compares the document with
the router and the route table."""
import json, os, sys

def ref(name): return {"$ref": f"#/components/schemas/{name}"}
S = {"type": "string"}
TS = {"type": "string", "format": "date-time"}
INT = {"type": "integer"}
BOOL = {"type": "boolean"}
NS = {"type": ["string", "null"]}
def arr(x): return {"type": "array", "items": x}
def obj(required, props, extra=True, const=None):
    o = {"type": "object", "properties": dict(props), "required": list(required)}
    if const: 
        o["properties"] = {"object": {"const": const}, **o["properties"]}
        o["required"] = ["object"] + o["required"]
    if not extra: o["additionalProperties"] = False
    return o
MODE = {"type": "string", "enum": ["test", "live"]}
LIMIT_FIELDS = {
    "permissions": {**arr(S), "description": "Permission names (keys.read, keys.write, keys.live, certificates.read, certificates.write, audit.read, settings.write, team.manage) and API scopes. `[\"*\"]` is every permission (an unrestricted credential), in answers and requests; left out of a request, the caller's own."},
    "allowed_ips": {**arr(S), "description": "IP addresses or CIDR networks the credential may be used from."},
    "expires_at": {**S, "description": "RFC 3339 time after which the credential stops working."},
}

# How every answer shows a credential's permissions (Sources/KeywardServer/API/CredentialLimitsAPI.swift, PermissionList).
PERMISSIONS = {**arr(S), "description": "The credential's permission names; `[\"*\"]` when it is unrestricted (every answer shows it this way)."}

# What every credential answer has (Sources/KeywardServer/API/CredentialResource.swift); absent fields are left out.
CREDENTIAL_FIELDS = {
    "id": S, "mode": MODE,
    "status": {"type": "string", "enum": ["active", "rolling", "expired", "revoked"], "description": "From the credential's own lifecycle: revoked > expired > rolling > active."},
    "name": {**S, "description": "For the kinds that have a name."},
    "created_at": TS,
    "expires_at": {**TS, "description": "When it stops working by time (its own expiry, its certificate's end or a roll's overlap, whichever comes first); absent when never."},
    "revoked_at": {**TS, "description": "When it was revoked; absent when it was not."},
    "replaced_by": {**S, "description": "The credential a roll replaced it with (kinds that roll)."},
    "limits": {"$ref": "#/components/schemas/Limits"},
}
def credential(required, props, const):
    return obj(["id", "mode", "status", "created_at"] + required, {**CREDENTIAL_FIELDS, **props}, const=const)
schemas = {
  "Problem": {**obj(["type", "title", "status", "detail", "code", "request_id"], {
      "type": {**S, "description": "urn:keyward:problem:<code>, or https://iana.org/assignments/http-problem-types#quota-exceeded for 429."},
      "title": S, "status": INT, "detail": S,
      "code": {**S, "description": "Stable reason code (e.g. missing_credentials, invalid_key, insufficient_permissions, live_key_required, invalid_json, missing_field, unknown_field, resource_missing, not_found, body_too_large)."},
      "field": {**S, "description": "The request field at fault, when one is."},
      "request_id": S,
      "findings": arr(ref("CertificateFinding"))}),
      "description": "RFC 9457 problem details: every error Keyward answers, with a stable `code`."},
  "Limits": obj(["permissions", "allowed_ips"], {"permissions": PERMISSIONS, "allowed_ips": arr(S), "expires_at": TS}),
  "SecretKey": credential(["name", "redacted", "last4", "permissions", "allowed_ips"], {
      "redacted": S, "last4": S, "permissions": PERMISSIONS, "allowed_ips": arr(S), "last_used_at": TS, "rolled_from": S,
      "secret": {**S, "description": "The full secret key: in the answer to creation or roll only."}}, const="secret_key"),
  "PaymentKey": credential(["label", "last4"], {
      "label": S, "last4": S, "secret": {**S, "description": "In the answer to creation or roll only."}}, const="payment_key"),
  "OrderHash": obj(["hash", "path", "payment_key_id"], {"hash": S, "path": S, "payment_key_id": S}, const="order_hash"),
  "OrderHashVerification": obj(["valid"], {"valid": BOOL}, const="order_hash_verification"),
  "PrivateJWK": {"type": "object", "additionalProperties": S},
  "PrivateKey": obj(["private_key"], {"private_key": {**S, "description": "PKCS#8 PEM, encrypted (PBES2) when a passphrase was given."},
      "private_key_pkcs1": S, "private_jwk": ref("PrivateJWK")}),
  "SigningKey": credential(["name", "algorithm", "public_key", "private_key_kept", "limits"], {
      "algorithm": S, "public_key": S, "not_after": TS, "private_key_kept": BOOL,
      "private_key": {**S, "description": "In the answer to generation only."}, "private_key_pkcs1": S, "private_jwk": ref("PrivateJWK")}, const="signing_key"),
  "StoreKey": credential(["key_index", "name", "algorithm", "hash", "public_key", "platform_certificate", "private_key_kept", "limits"], {
      "key_index": INT, "algorithm": S, "hash": S, "public_key": S, "not_after": TS, "platform_certificate": S, "private_key_kept": BOOL,
      "private_key": S, "private_key_pkcs1": S, "private_jwk": ref("PrivateJWK")}, const="store_key"),
  "Store": obj(["id", "name", "mode", "dialect", "keys"], {
      "id": S, "name": S, "mode": MODE, "dialect": {"type": "string", "enum": ["mypos", "alikassa"]}, "sid": S, "wallet_number": S,
      "account": S, "reject_replays": BOOL, "created_at": TS, "keys": arr(ref("StoreKey"))}, const="store"),
  "ServiceCode": obj(["service_code", "mode"], {"service_code": S, "mode": MODE}),
  "JWK": credential(["name", "thumbprint", "algorithm", "public_jwk", "limits"], {
      "kid": S, "thumbprint": S, "algorithm": S, "public_jwk": {**S, "description": "The public JWK as JSON text."},
      "private_jwk": {**S, "description": "In the answer to generation only: the private JWK as JSON text."}}, const="jwk"),
  "DeviceSession": credential(["jwk_id", "expires_at"], {"jwk_id": S}, const="device_session"),
  "CertificateFinding": obj(["severity", "code", "message"], {"severity": {"type": "string", "enum": ["error", "warning", "note"]}, "code": S, "message": S}),
  "Certificate": obj(["id", "type", "name", "mode", "subject", "issuer", "serial", "names", "key_type", "sha256_fingerprint", "status",
                      "days_left", "has_private_key", "source"], {
      "id": S, "type": S, "name": S, "mode": MODE, "subject": S, "issuer": S, "serial": S, "names": arr(S), "key_type": S,
      "sha256_fingerprint": S, "not_before": TS, "not_after": TS, "status": {"type": "string", "enum": ["valid", "expiring", "critical", "expired"]},
      "days_left": INT, "has_private_key": BOOL, "source": S, "channels": arr(S), "created_at": TS, "certificate_pem": S, "chain_pem": S,
      "findings": arr(ref("CertificateFinding"))}, const="certificate"),
  "CertificateRequest": obj(["id", "type", "name", "key_type", "csr_pem"], {"id": S, "type": S, "name": S, "key_type": S, "csr_pem": S,
      "certificate_id": S, "created_at": TS}, const="certificate_request"),
  "DomainVerification": obj(["domain", "display_name", "status", "failures", "dns"], {
      "domain": S, "display_name": S, "status": S, "method": S, "failures": INT, "last_error": S, "last_checked_at": TS, "next_check_at": TS,
      "verified_at": TS, "dns": obj(["type", "name", "value"], {"type": {"const": "TXT"}, "name": S, "value": S}),
      "http": obj(["url", "body"], {"url": S, "body": S})}),
  "Channel": obj(["id", "name", "mode", "domains", "ssl_mode", "status", "status_detail", "failures", "warnings", "domain_verification"], {
      "id": S, "name": S, "mode": MODE, "domains": arr(S), "ssl_mode": {"type": "string", "enum": ["managed", "uploaded"]}, "status": S,
      "status_detail": S, "failures": INT, "next_attempt_at": TS, "renew_at": TS, "certificate": ref("Certificate"), "warnings": arr(S),
      "events": arr(obj(["kind", "message"], {"at": TS, "kind": S, "message": S})), "domain_verification": arr(ref("DomainVerification")),
      "created_at": TS}, const="sales_channel"),
  "Webhook": obj(["id", "url"], {"id": S, "url": S, "secret": {**S, "description": "The signing secret: in the answer to PUT only."}, "created_at": TS},
                 const="webhook_endpoint"),
  "WebhookDelivery": obj(["id", "event_type", "status", "attempts", "payload"], {"id": S, "event_type": S, "status": S, "attempts": INT,
      "last_error": S, "payload": S}, const="webhook_delivery"),
  "MerchantSettings": obj(["rotation_days", "allowed_ips", "leaked_test_key_grace_seconds"], {"rotation_days": INT, "allowed_ips": arr(S),
      "leaked_test_key_grace_seconds": INT, "updated_at": TS}, const="merchant_settings"),
  "AuditEntry": obj(["seq", "id", "at", "actor_type", "actor_id", "action", "outcome", "previous_hash", "hash"], {
      "seq": INT, "id": S, "at": TS, "merchant_id": NS, "actor_type": S, "actor_id": S, "address": NS, "action": S, "target_id": NS,
      "outcome": S, "mode": {"type": ["string", "null"], "enum": ["test", "live", None]}, "previous_hash": S, "hash": S},
      ) | {"description": "An audit entry; merchant_id, address, target_id and mode are null when they do not apply."},
  "AuthTest": obj(["key_id", "merchant_id", "mode", "scheme", "permissions"], {"key_id": S, "merchant_id": S, "mid": S, "mode": MODE,
      "scheme": {"type": "string", "enum": ["secret_key", "http_signature", "mypos_ipc", "alikassa", "device_session"]}, "permissions": PERMISSIONS}),
  "Diagnosis": obj(["dialect", "valid", "steps"], {"dialect": S, "valid": BOOL, "code": S, "explanation": S,
      "steps": arr(obj(["step", "ok", "detail"], {"step": S, "ok": BOOL, "detail": S, "code": S}))}, const="diagnosis"),
  "RateLimit": obj(["subject", "mode", "quota", "window_seconds", "default"], {"subject": {**S, "description": "`merchant` or a credential's id."},
      "mode": MODE, "quota": INT, "window_seconds": INT, "default": {**BOOL, "description": "True for a mode's merchant limit nobody set."},
      "updated_at": TS}, const="rate_limit"),
  "LeakFeedback": obj(["token_hash", "token_type", "label"], {"token_hash": S, "token_type": S,
      "label": {"type": "string", "enum": ["true_positive", "false_positive"]}}),
}
def list_of(item): 
    name = f"{item}List"
    schemas[name] = obj(["data", "has_more"], {"data": arr(ref(item)), "has_more": BOOL}, const="list")
    return name
for item in ["SecretKey", "PaymentKey", "SigningKey", "Store", "StoreKey", "JWK", "DeviceSession", "Certificate", "Channel", "WebhookDelivery", "AuditEntry", "RateLimit"]:
    list_of(item)

# Request bodies (strict: unknown fields are refused with 400 unknown_field).
bodies = {
  "CreateSecretKey": obj([], {"name": S, **LIMIT_FIELDS}, extra=False),
  "Roll": obj([], {"overlap_seconds": {**INT, "description": "How long the old secret keeps working."}}, extra=False),
  "Empty": obj([], {}, extra=False),
  "CreatePaymentKey": obj([], {"label": S, "value": {**S, "description": "Import this key value instead of generating one."}}, extra=False),
  "OrderHash": obj(["order_id", "amount", "currency"], {"payment_key_id": S, "order_id": S, "amount": S, "currency": S}, extra=False),
  "OrderHashVerify": obj(["order_id", "amount", "currency", "hash"], {"payment_key_id": S, "order_id": S, "amount": S, "currency": S, "hash": S}, extra=False),
  "RegisterSigningKey": obj(["public_key"], {"name": S, "public_key": {**S, "description": "SPKI PEM"}, **LIMIT_FIELDS}, extra=False),
  "GenerateSigningKey": obj(["algorithm"], {"name": S, "algorithm": {"type": "string", "enum": ["rsa-2048", "rsa-3072", "rsa-4096", "ec-p256", "ec-p384", "ed25519"]},
      "passphrase": {**S, "minLength": 12, "description": "12 to 1024 bytes: the private key is returned encrypted under it."}, "keep_private_key": BOOL, **LIMIT_FIELDS}, extra=False),
  "ExportPrivateKey": obj([], {"passphrase": S}, extra=False),
  "CreateStore": obj(["dialect"], {"name": S, "dialect": {"type": "string", "enum": ["mypos", "alikassa"]}, "sid": S, "wallet_number": S, "account": S,
      "reject_replays": BOOL}, extra=False),
  "AddStoreKey": obj(["public_key"], {"name": S, "public_key": {**S, "description": "SPKI PEM or an X.509 certificate PEM"}, "key_index": INT,
      "legacy_sha1": BOOL, **LIMIT_FIELDS}, extra=False),
  "GenerateStoreKey": obj([], {"name": S, "bits": {"type": "integer", "enum": [2048, 3072, 4096]}, "key_index": INT, "legacy_sha1": BOOL,
      "passphrase": S, "keep_private_key": BOOL, **LIMIT_FIELDS}, extra=False),
  "RegisterJWK": obj(["jwk"], {"name": S, "jwk": {"oneOf": [{"type": "object", "description": "The public JWK (an EC P-384 key: kty, crv, x, y; kid, use and alg optional)."}, {**S, "description": "The same JWK as JSON text (accepted for compatibility)."}]}, **LIMIT_FIELDS}, extra=False),
  "GenerateJWK": obj([], {"name": S, "kid": S, **LIMIT_FIELDS}, extra=False),
  "UploadCertificate": obj(["type", "files"], {"type": {"type": "string", "enum": ["ssl", "apple_pay_merchant_identity", "apple_pay_payment_processing", "apple_pay_identity_proof"]},
      "name": S, "files": {**arr(S), "minItems": 1, "maxItems": 10, "description": "PEM text, or base64 of DER / PKCS#12 files."}, "passphrase": S}, extra=False),
  "CertificateRequest": obj(["type", "name"], {"type": {"type": "string", "enum": ["apple_pay_merchant_identity", "apple_pay_payment_processing"]}, "name": S}, extra=False),
  "AppleCertificate": obj(["certificate"], {"certificate": {**S, "description": "The certificate Apple issued: PEM text or base64 of DER."}}, extra=False),
  "CreateChannel": obj(["name", "domains", "ssl_mode"], {"name": S, "domains": arr(S), "ssl_mode": {"type": "string", "enum": ["managed", "uploaded"]},
      "certificate_id": S}, extra=False),
  "Webhook": obj(["url"], {"url": {**S, "description": "https:// URL; must resolve to a public address (or a network in webhook_allowed_networks)."}}, extra=False),
  "Settings": obj([], {"rotation_days": INT, "allowed_ips": arr(S), "leaked_test_key_grace_seconds": INT}, extra=False),
  "Diagnose": obj(["dialect", "body"], {"dialect": {"type": "string", "enum": ["mypos", "alikassa", "rfc9421"]}, "body": S,
      "headers": {"type": "object", "additionalProperties": S}, "method": S, "url": S}, extra=False),
  "RateLimit": obj(["quota"], {"quota": {"type": "integer", "minimum": 1, "maximum": 1000000}, "window_seconds": {"type": "integer", "minimum": 1}}, extra=False),
  "LeakReport": arr(obj(["token"], {"token": S, "type": S, "url": S, "source": S})),
}
for name, schema in bodies.items(): schemas[name + "Request"] = schema

REQ_ID = {"$ref": "#/components/headers/RequestId"}
def problem(desc, extra_headers=None):
    h = {"Keyward-Request-Id": REQ_ID}
    if extra_headers: h.update(extra_headers)
    return {"description": desc, "headers": h, "content": {"application/problem+json": {"schema": ref("Problem")}}}
responses = {
  "BadRequest": problem("Bad input: invalid JSON, a missing, unknown or invalid field (code and field say which)."),
  "Unauthenticated": problem("No credentials, or credentials that are wrong, revoked, expired or used from an address the key does not allow.",
                             {"WWW-Authenticate": {"$ref": "#/components/headers/WWWAuthenticate"}}),
  "Forbidden": problem("The credential lacks the permission (insufficient_permissions), is not a secret key, or is a test-mode key where a live-mode key is required (live_key_required)."),
  "NotFound": problem("No such object for this merchant and mode (resource_missing), or no such endpoint (not_found)."),
  "MethodNotAllowed": problem("The path exists but not with this method (method_not_allowed); `Allow` lists the methods it takes.",
      {"Allow": {"description": "The methods the path takes, e.g. `GET, POST`.", "schema": S}}),
  "UnsupportedMediaType": problem("The body is not JSON (unsupported_media_type): send it as application/json."),
  "Conflict": problem("The change conflicts with the current state (e.g. a key index or domain already taken)."),
  "TooLarge": problem("The body is larger than this endpoint accepts (body_too_large)."),
  "TooManyRequests": problem("A rate limit of the merchant (per mode) or of the credential is used up: code rate_limited, type https://iana.org/assignments/http-problem-types#quota-exceeded.",
      {"Retry-After": {"description": "Seconds until the window resets.", "required": True, "schema": S},
       "RateLimit-Policy": {"$ref": "#/components/headers/RateLimitPolicy"}, "RateLimit": {"$ref": "#/components/headers/RateLimit"}}),
  "Unavailable": problem("The service cannot do this now (e.g. not configured)."),
}
def ok(desc, schema=None, content_type="application/json", status_headers=None):
    r = {"description": desc, "headers": {"Keyward-Request-Id": REQ_ID}}
    if schema is not None: r["content"] = {content_type: {"schema": schema}}
    return r

paths = {}
KEY_ONLY = [{"secretKey": []}]
ANY_CRED = [{"secretKey": []}, {"httpSignature": []}, {"aliKassa": []}, {"deviceSession": []}]

def op(method, path, summary, requirement, success, body=None, security=KEY_ONLY, errors=(400, 401, 403, 404, 405, 413), params=(),
       body_required=True, body_content=None, description=None, tags=None, extra_responses=None):
    o = {"operationId": (method + "_" + path.replace("/v1/", "").replace("/", "_").replace("{", "").replace("}", "").replace("-", "_").replace(".", "_")),
         "summary": summary, "x-keyward-requirement": requirement, "security": security}
    if description: o["description"] = description
    if tags: o["tags"] = tags
    plist = []
    for seg in path.split("/"):
        if seg.startswith("{"):
            name = seg[1:-1]
            plist.append({"name": name, "in": "path", "required": True,
                          "schema": {"type": "string"} if name != "index" else {"type": "integer", "minimum": 1}})
    plist += list(params)
    if plist: o["parameters"] = plist
    if body is not None:
        o["requestBody"] = {"required": body_required, "content": body_content or {"application/json": {"schema": ref(body + "Request")}}}
    rs = dict(success)
    names = {429: "TooManyRequests", 400: "BadRequest", 401: "Unauthenticated", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed", 409: "Conflict", 413: "TooLarge", 415: "UnsupportedMediaType", 503: "Unavailable"}
    # Every JSON body is refused 415 in another media type.
    if body is not None and body_content is None and security != [{"scannerSignature": []}]: errors = tuple(errors) + (415,)
    if security and security != [{"scannerSignature": []}]:
        errors = tuple(errors) + (429,)
        for r in success.values():
            r["headers"] = {**r["headers"], "RateLimit-Policy": {"$ref": "#/components/headers/RateLimitPolicy"},
                            "RateLimit": {"$ref": "#/components/headers/RateLimit"}}
    for e in errors: rs[str(e)] = {"$ref": f"#/components/responses/{names[e]}"}
    if extra_responses: rs.update(extra_responses)
    o["responses"] = rs
    paths.setdefault(path, {})[method] = o

R_READ = "keys.read (+keys.live in live mode), per mode"
R_WRITE = "keys.write (+keys.live in live mode), per mode"
C_READ = "certificates.read, per mode"
C_WRITE = "certificates.write (+keys.live in live mode), per mode"
SET = "settings.write, merchant-wide (API: live-mode keys only)"
CERT_MW = "certificates.write, merchant-wide (API: live-mode keys only)"
AUD = "audit.read, per mode"
M = "/v1/manage"
def q(name, schema, desc): return {"name": name, "in": "query", "required": False, "schema": schema, "description": desc}
# Every credential list pages the same way (Sources/KeywardServer/API/ListPage.swift).
PAGE = [q("limit", {"type": "integer", "minimum": 1, "maximum": 1000}, "1 to 1000 (default 100)."),
        q("starting_after", S, "An id from the previous page: the page after it.")]

# auth
for m in ["get", "post"]:
    op(m, "/v1/auth/test", "Check a credential", "any verified credential (secret key, RFC 9421 signature, store signature, device session)",
       {"200": ok("The verified credential.", ref("AuthTest"))}, security=ANY_CRED, errors=(400, 401, 403, 405, 413), tags=["auth"],
       description="Answers who the credential speaks for. POST exists for schemes that sign a body (myPOS IPC forms, AliKassa).")
op("post", "/v1/auth/diagnose", "Explain why a signed test request fails", "test-mode secret key",
   {"200": ok("Each verification step, in order, and the first that failed.", ref("Diagnosis"))}, body="Diagnose", tags=["auth"],
   description="Takes a signed request as the merchant sent it (myPOS form, AliKassa body and headers, RFC 9421 request) and checks it against the caller's test-mode stores and keys without consuming a nonce. Live-mode keys and other credentials answer 403 test_mode_only.")
op("post", "/v1/secret-scanning/reports", "Report leaked Keyward keys (secret scanning partner endpoint)", "none: scanner signature (Github-Public-Key-Signature)",
   {"200": ok("GitHub's feedback array, one entry per reported token.", arr(ref("LeakFeedback")))}, body="LeakReport", security=[{"scannerSignature": []}],
   errors=(400, 401, 405, 413, 503), tags=["secret scanning"],
   description="Called by GitHub's secret scanning (or any scanner speaking its format). Signed with Github-Public-Key-Identifier and Github-Public-Key-Signature (base64 DER ECDSA P-256 SHA-256 over the raw body) by a key in secret_scanning_keys; 503 secret_scanning_not_configured when none are configured. Leaked live keys stop working; leaked test keys after the merchant's grace period.",
   params=[{"name": "Github-Public-Key-Identifier", "in": "header", "required": True, "schema": S},
           {"name": "Github-Public-Key-Signature", "in": "header", "required": True, "schema": S}])
op("get", "/v1/openapi.json", "This document", "none: public document",
   {"200": ok("The OpenAPI 3.1 document of the /v1 API.", {"type": "object"})}, security=[], errors=(405,), tags=["meta"])

# secret keys
op("get", M + "/keys", "List secret keys", R_READ, {"200": ok("Secret keys of the caller's merchant and mode, newest first.", ref("SecretKeyList"))},
   params=PAGE, tags=["secret keys"], errors=(400, 401, 403, 404, 405))
op("post", M + "/keys", "Create a secret key", R_WRITE, {"201": ok("The new key; `secret` is shown once.", ref("SecretKey"))}, body="CreateSecretKey",
   body_required=False, tags=["secret keys"], errors=(400, 401, 403, 405, 409, 413))
op("get", M + "/keys/{id}", "Get a secret key", R_READ, {"200": ok("The key (never its secret).", ref("SecretKey"))}, tags=["secret keys"], errors=(401, 403, 404, 405))
op("post", M + "/keys/{id}/roll", "Roll a secret key", R_WRITE, {"201": ok("The replacement key; `secret` is shown once.", ref("SecretKey"))}, body="Roll",
   body_required=False, tags=["secret keys"], errors=(400, 401, 403, 404, 405, 409, 413))
op("post", M + "/keys/{id}/revoke", "Revoke a secret key", R_WRITE, {"200": ok("The revoked key.", ref("SecretKey"))}, body="Empty", body_required=False,
   tags=["secret keys"], errors=(400, 401, 403, 404, 405, 409, 413))
# payment keys
op("get", M + "/payment-keys", "List payment keys", R_READ, {"200": ok("Payment keys.", ref("PaymentKeyList"))}, tags=["payment keys"], params=PAGE, errors=(400, 401, 403, 404, 405))
op("post", M + "/payment-keys", "Create or import a payment key", R_WRITE, {"201": ok("The new key; `secret` is shown once.", ref("PaymentKey"))},
   body="CreatePaymentKey", body_required=False, tags=["payment keys"], errors=(400, 401, 403, 405, 409, 413))
op("post", M + "/payment-keys/{id}/roll", "Roll a payment key", R_WRITE, {"201": ok("The replacement key.", ref("PaymentKey"))}, body="Roll", body_required=False,
   tags=["payment keys"], errors=(400, 401, 403, 404, 405, 409, 413))
op("post", M + "/payment-keys/{id}/revoke", "Revoke a payment key", R_WRITE, {"200": ok("The revoked key.", ref("PaymentKey"))}, body="Empty", body_required=False,
   tags=["payment keys"], errors=(400, 401, 403, 404, 405, 409, 413))
op("post", M + "/order-hash", "Compute an order hash", R_WRITE, {"200": ok("The hash.", ref("OrderHash"))}, body="OrderHash", tags=["payment keys"])
op("post", M + "/order-hash/verify", "Verify an order hash", R_WRITE, {"200": ok("Whether it matches.", ref("OrderHashVerification"))}, body="OrderHashVerify",
   tags=["payment keys"])
# signing keys
op("get", M + "/signing-keys", "List signing keys", R_READ, {"200": ok("Signing keys (RFC 9421 keyids).", ref("SigningKeyList"))}, tags=["signing keys"], params=PAGE, errors=(400, 401, 403, 404, 405))
op("post", M + "/signing-keys", "Register a public signing key", R_WRITE, {"201": ok("The registered key.", ref("SigningKey"))}, body="RegisterSigningKey",
   tags=["signing keys"], errors=(400, 401, 403, 405, 409, 413))
op("post", M + "/signing-keys/generate", "Generate a signing key pair", R_WRITE, {"201": ok("The key with its private key (shown once unless kept).", ref("SigningKey"))},
   body="GenerateSigningKey", tags=["signing keys"], errors=(400, 401, 403, 405, 409, 413))
op("post", M + "/signing-keys/{id}/private-key", "Export a kept private key", R_WRITE, {"200": ok("The private key.", ref("PrivateKey"))},
   body="ExportPrivateKey", body_required=False, tags=["signing keys"], errors=(400, 401, 403, 404, 405, 409, 413))
op("post", M + "/signing-keys/{id}/revoke", "Revoke a signing key", R_WRITE, {"200": ok("The revoked key.", ref("SigningKey"))}, body="Empty", body_required=False,
   tags=["signing keys"], errors=(400, 401, 403, 404, 405, 409, 413))
# stores
op("get", M + "/stores", "List stores", R_READ, {"200": ok("myPOS and AliKassa stores with their keys.", ref("StoreList"))}, tags=["stores"], params=PAGE, errors=(400, 401, 403, 404, 405))
op("post", M + "/stores", "Create a store", R_WRITE, {"201": ok("The new store.", ref("Store"))}, body="CreateStore", tags=["stores"], errors=(400, 401, 403, 405, 409, 413))
op("get", M + "/stores/{id}", "Get a store", R_READ, {"200": ok("The store with its keys.", ref("Store"))}, tags=["stores"], errors=(401, 403, 404, 405))
op("post", M + "/stores/{id}/keys", "Add a merchant key to a store", R_WRITE, {"201": ok("The keys added.", ref("StoreKeyList"))}, body="AddStoreKey",
   tags=["stores"], errors=(400, 401, 403, 404, 405, 409, 413))
op("post", M + "/stores/{id}/keys/generate", "Generate a store key pair", R_WRITE, {"201": ok("The key added, with its private key.", ref("StoreKeyList"))},
   body="GenerateStoreKey", body_required=False, tags=["stores"], errors=(400, 401, 403, 404, 405, 409, 413))
op("get", M + "/stores/{id}/keys/{index}/platform-certificate", "Download the platform certificate", R_READ,
   {"200": ok("The certificate merchants verify Keyward's answers with (PEM).", {"type": "string"}, content_type="application/x-pem-file")},
   tags=["stores"], errors=(401, 403, 404, 405))
op("post", M + "/stores/{id}/keys/{index}/private-key", "Export a kept store private key", R_WRITE, {"200": ok("The private key.", ref("PrivateKey"))},
   body="ExportPrivateKey", body_required=False, tags=["stores"], errors=(400, 401, 403, 404, 405, 409, 413))
op("post", M + "/stores/{id}/keys/{index}/revoke", "Revoke a store key", R_WRITE, {"200": ok("The revoked key.", ref("StoreKey"))}, body="Empty", body_required=False,
   tags=["stores"], errors=(400, 401, 403, 404, 405, 409, 413))
# JWE
op("get", M + "/service-code", "Get the Alliance service code", R_READ, {"200": ok("The merchant's service code in this mode.", ref("ServiceCode"))},
   tags=["jwks"], errors=(401, 403, 404, 405))
op("get", M + "/jwks", "List JWE keys", R_READ, {"200": ok("JWE keys.", ref("JWKList"))}, tags=["jwks"], params=PAGE, errors=(400, 401, 403, 404, 405))
op("post", M + "/jwks", "Register a public JWK", R_WRITE, {"201": ok("The registered key.", ref("JWK"))}, body="RegisterJWK", tags=["jwks"], errors=(400, 401, 403, 405, 409, 413))
op("post", M + "/jwks/generate", "Generate a JWE key pair", R_WRITE, {"201": ok("The key with its private JWK (shown once).", ref("JWK"))}, body="GenerateJWK",
   body_required=False, tags=["jwks"], errors=(400, 401, 403, 405, 409, 413))
op("post", M + "/jwks/{id}/revoke", "Revoke a JWE key", R_WRITE, {"200": ok("The revoked key.", ref("JWK"))}, body="Empty", body_required=False, tags=["jwks"],
   errors=(400, 401, 403, 404, 405, 409, 413))
op("get", M + "/device-sessions", "List device sessions", R_READ, {"200": ok("Alliance technical sessions.", ref("DeviceSessionList"))}, tags=["jwks"],
   params=PAGE, errors=(400, 401, 403, 404, 405))
op("post", M + "/device-sessions/{id}/revoke", "Revoke a device session", R_WRITE, {"200": ok("The revoked session.", ref("DeviceSession"))}, body="Empty",
   body_required=False, tags=["jwks"], errors=(400, 401, 403, 404, 405, 409, 413))
# certificates
op("get", M + "/certificates", "List certificates", C_READ, {"200": ok("Certificates.", ref("CertificateList"))},
   params=[q("expiring", {"type": "integer", "minimum": 0, "maximum": 3650}, "Only those expiring within this many days.")], tags=["certificates"],
   errors=(400, 401, 403, 404, 405))
op("post", M + "/certificates", "Upload a certificate", C_WRITE, {"201": ok("The stored certificate with its findings.", ref("Certificate"))},
   body="UploadCertificate", tags=["certificates"], errors=(400, 401, 403, 405, 409, 413))
op("get", M + "/certificates/{id}", "Get a certificate", C_READ, {"200": ok("The certificate with its PEM.", ref("Certificate"))}, tags=["certificates"],
   errors=(401, 403, 404, 405))
op("post", M + "/apple-pay/certificate-requests", "Create an Apple Pay CSR", C_WRITE, {"201": ok("The request with its CSR.", ref("CertificateRequest"))},
   body="CertificateRequest", tags=["apple pay"], errors=(400, 401, 403, 405, 409, 413))
op("get", M + "/apple-pay/certificate-requests/{id}", "Get an Apple Pay CSR", C_READ, {"200": ok("The request.", ref("CertificateRequest"))},
   tags=["apple pay"], errors=(401, 403, 404, 405))
op("post", M + "/apple-pay/certificate-requests/{id}/certificate", "Complete an Apple Pay CSR", C_WRITE,
   {"201": ok("The certificate stored with the request's key.", ref("Certificate"))}, body="AppleCertificate", tags=["apple pay"],
   errors=(400, 401, 403, 404, 405, 409, 413))
op("put", M + "/apple-pay/domain-association", "Set the Apple Pay domain association file", CERT_MW, {"204": ok("Stored; served at /.well-known/apple-developer-merchantid-domain-association on the merchant's channel domains.")},
   body="x", body_content={"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}, tags=["apple pay"],
   description="Merchant-wide: a test-mode key is answered 403 live_key_required.", errors=(400, 401, 403, 405, 413))
op("delete", M + "/apple-pay/domain-association", "Remove the Apple Pay domain association file", CERT_MW, {"204": ok("Removed.")}, tags=["apple pay"],
   description="Merchant-wide: a test-mode key is answered 403 live_key_required.", errors=(401, 403, 404, 405))
# channels
op("get", M + "/channels", "List sales channels", C_READ, {"200": ok("Channels.", ref("ChannelList"))}, tags=["channels"], errors=(401, 403, 404, 405))
op("post", M + "/channels", "Create a sales channel", C_WRITE, {"201": ok("The channel with its domain verification records.", ref("Channel"))},
   body="CreateChannel", tags=["channels"], errors=(400, 401, 403, 404, 405, 409, 413))
op("get", M + "/channels/{id}", "Get a sales channel", C_READ, {"200": ok("The channel with its events.", ref("Channel"))}, tags=["channels"], errors=(401, 403, 404, 405))
op("delete", M + "/channels/{id}", "Delete a sales channel", C_WRITE, {"204": ok("Deleted.")}, tags=["channels"], errors=(401, 403, 404, 405, 409))
op("post", M + "/channels/{id}/renew", "Renew a channel's certificate now", C_WRITE, {"202": ok("Renewal scheduled.", ref("Channel"))}, tags=["channels"],
   errors=(400, 401, 403, 404, 405, 409))
op("post", M + "/channels/{id}/verify", "Check the channel's domains now", C_WRITE, {"200": ok("The channel after the check.", ref("Channel"))}, body="Empty",
   body_required=False, tags=["channels"], errors=(400, 401, 403, 404, 405, 409, 413))
# webhook
for m, summary, resp, body, errs in [
    ("put", "Set the webhook endpoint", {"201": ok("The endpoint; `secret` is shown once.", ref("Webhook"))}, "Webhook", (400, 401, 403, 405, 413)),
    ("get", "Get the webhook endpoint", {"200": ok("The endpoint (never its secret).", ref("Webhook"))}, None, (401, 403, 404, 405)),
    ("delete", "Remove the webhook endpoint", {"204": ok("Removed.")}, None, (401, 403, 404, 405))]:
    op(m, M + "/webhook", summary, SET, resp, body=body, tags=["webhook"], errors=errs,
       description="Merchant-wide: a test-mode key is answered 403 live_key_required.")
op("get", M + "/webhook/deliveries", "Recent webhook deliveries", SET, {"200": ok("The latest deliveries.", ref("WebhookDeliveryList"))}, tags=["webhook"],
   errors=(401, 403, 404, 405), description="Merchant-wide: a test-mode key is answered 403 live_key_required.")
# rate limits
op("get", M + "/rate-limits", "List rate limits", SET, {"200": ok("Each mode's merchant limit (the default when none is set) and every credential's own.", ref("RateLimitList"))},
   tags=["rate limits"], errors=(401, 403, 404, 405), description="Merchant-wide: a test-mode key is answered 403 live_key_required.")
op("put", M + "/rate-limits/{mode}/{subject}", "Set a rate limit", SET, {"200": ok("The limit.", ref("RateLimit"))}, body="RateLimit", tags=["rate limits"],
   errors=(400, 401, 403, 404, 405, 413), description="`subject` is `merchant` (the mode's merchant-wide limit) or a credential's id. Merchant-wide: a test-mode key is answered 403 live_key_required.")
op("delete", M + "/rate-limits/{mode}/{subject}", "Remove a rate limit", SET, {"204": ok("Removed: the default applies again.")}, tags=["rate limits"],
   errors=(400, 401, 403, 404, 405), description="Merchant-wide: a test-mode key is answered 403 live_key_required.")
# settings, audit
op("get", M + "/settings", "Get merchant settings", SET, {"200": ok("The settings.", ref("MerchantSettings"))}, tags=["settings"], errors=(401, 403, 404, 405),
   description="Merchant-wide: a test-mode key is answered 403 live_key_required.")
op("patch", M + "/settings", "Change merchant settings", SET, {"200": ok("The settings after the change.", ref("MerchantSettings"))}, body="Settings",
   tags=["settings"], errors=(400, 401, 403, 405, 413), description="Merchant-wide: a test-mode key is answered 403 live_key_required.")
op("get", M + "/audit", "List audit entries", AUD, {"200": ok("Entries, newest first; a test key sees test-mode entries only.", ref("AuditEntryList"))},
   params=[q("limit", {"type": "integer", "minimum": 1, "maximum": 1000}, "1 to 1000 (default 100)."),
           q("before", {"type": "integer", "minimum": 1}, "A sequence number: entries before it."), q("action", S, "Only entries with this action.")],
   tags=["audit"], errors=(400, 401, 403, 404, 405))
op("get", M + "/audit/export", "Export the audit log", AUD, {"200": ok("One JSON entry per line, oldest last.", {"type": "string"}, content_type="application/x-ndjson")},
   tags=["audit"], errors=(401, 403, 404, 405))

doc = {
  "openapi": "3.1.0",
  "info": {"title": "Keyward API", "version": "1",
    "description": ("Keyward's own `/v1` API: credential checks, management of keys, stores, certificates, channels, webhooks, settings and the audit log (`/v1/manage/...`), and the secret scanning partner endpoint.\n\n"
      "**Any other `/v1/...` path is forwarded to the upstream payment API** (`KEYWARD_UPSTREAM_URL`) after the caller is authenticated, with the verified merchant, mode, key id and permissions in `Keyward-*` headers; Keyward cannot list the upstream's paths. Without credentials such a call is answered 401; with no upstream configured, 404 `not_found`. Unknown paths under `/v1/manage/` are answered 404 and never forwarded; a known one asked with a method it does not take is 405 `method_not_allowed` with `Allow` listing the methods it takes.\n\n"
      "**Authentication.** The management API takes a secret key (`Authorization: Bearer kw_test_…` or `kw_live_…`). A key acts in its own mode: a test key sees and changes test-mode objects only. Merchant-wide state (webhook, settings, Apple Pay domain association) applies to live traffic and needs a live-mode key: a test key is answered 403 `live_key_required`. `/v1/auth/test` and the forwarded paths also accept RFC 9421 HTTP Message Signatures by a registered signing key (`Signature-Input` + `Signature`, with `Content-Digest` over a body), AliKassa (`Account` + `Sign`), myPOS IPC forms and Alliance device sessions; these credentials are refused by the management API (403 `insufficient_permissions`).\n\n"
      "**Permissions.** Each operation's `x-keyward-requirement` names what it needs, as checked by the server: e.g. `keys.write (+keys.live in live mode), per mode`. Restricted keys hold only the permissions listed on them.\n\n"
      "**Rate limits.** Every verified call counts against its merchant's limit for the key's mode and the credential's own limit (`/v1/manage/rate-limits`); answers carry `RateLimit-Policy` and `RateLimit` (draft-ietf-httpapi-ratelimit-headers), and a used-up limit is 429 with `Retry-After`.\n\n"
      "**Errors** are RFC 9457 `application/problem+json` with a stable `code` (see the `Problem` schema); every answer carries `Keyward-Request-Id`. Request bodies are strict JSON: an unknown field is 400 `unknown_field`; a body that is not JSON is 400 `invalid_json` naming the line, column and byte where it broke and what was expected there (never the body's text); a body of another media type is 415 `unsupported_media_type`.")},
  "servers": [{"url": "/"}],
  "tags": [{"name": t} for t in ["auth", "secret keys", "payment keys", "signing keys", "stores", "jwks", "certificates", "apple pay", "channels", "webhook", "settings", "rate limits", "audit", "secret scanning", "meta"]],
  "paths": dict(sorted(paths.items())),
  "components": {
    "securitySchemes": {
      "secretKey": {"type": "http", "scheme": "bearer", "description": "A secret key, `kw_test_…` or `kw_live_…`."},
      "httpSignature": {"type": "apiKey", "in": "header", "name": "Signature-Input",
                        "description": "RFC 9421 HTTP Message Signature (`Signature-Input` and `Signature`; `Content-Digest` when there is a body) by a signing key registered under /v1/manage/signing-keys, `keyid` = its id. Each signature is accepted once (nonce/created checked)."},
      "aliKassa": {"type": "apiKey", "in": "header", "name": "Account", "description": "AliKassa: `Account` (the store's account) and `Sign` (base64 RSA SHA-256 signature of the raw body by a store key)."},
      "deviceSession": {"type": "apiKey", "in": "header", "name": "x-device_id", "description": "Alliance technical session: `x-device_id` and `x-refresh_token`."},
      "scannerSignature": {"type": "apiKey", "in": "header", "name": "Github-Public-Key-Signature", "description": "ECDSA P-256 SHA-256 signature of the body by a trusted scanner key named by `Github-Public-Key-Identifier`."},
    },
    "headers": {
      "RequestId": {"description": "The request's id (also in the server log line); quote it when asking for help.", "required": True, "schema": S},
      "WWWAuthenticate": {"required": True, "schema": S},
      "RateLimitPolicy": {"description": "draft-ietf-httpapi-ratelimit-headers: each policy that applied, e.g. `\"merchant\";q=25;w=1`.", "required": True, "schema": S},
      "RateLimit": {"description": "draft-ietf-httpapi-ratelimit-headers: the policy with the least room left, e.g. `\"merchant\";r=24;t=1`.", "required": True, "schema": S},
    },
    "responses": responses,
    "schemas": dict(sorted(schemas.items())),
  },
}
text = json.dumps(doc, indent=1, ensure_ascii=False)
assert '"""#' not in text
swift = ('// Generated by .ci/openapi-document.py: edit that, not this.\n\n'
         '/// The OpenAPI 3.1 document of the `/v1` API, served at `GET /v1/openapi.json`. Kept in the binary (a\n'
         '/// string, not a bundle resource) so a copied `keyward` binary still serves it. `OpenAPITests` checks its\n'
         '/// paths and methods against the router and its requirements against the route table.\n'
         'enum OpenAPIDocument {\n    static let json = #"""\n'
         # Indented as `swift format` indents a multi-line string (the closing delimiter's indentation is stripped).
         + '\n'.join('        ' + line if line else line for line in text.split('\n')) + '\n        """#\n}\n')
default = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Sources", "KeywardServer", "API", "OpenAPI", "OpenAPIDocument.swift")
open(sys.argv[1] if len(sys.argv) > 1 else default, "w").write(swift)
print(len(paths), "paths", sum(len(v) for v in paths.values()), "operations")
