#!/usr/bin/env python3
"""An Alliance Bank technical-session client written the way the bank's docs show, on `requests` with
`jwcrypto` (session setup) and `joserfc` (encrypted bodies), as merchants' SDKs do.

  alliance_client.py BASE_URL CA_FILE SERVICE_CODE PRIVATE_JWK_JSON
Prints a JSON report of every step; exits non-zero on the first surprise.
"""
import json
import re
import sys

import requests
from joserfc import jwe as jfc_jwe
from joserfc.jwk import ECKey
from jwcrypto import jwe, jwk

base, ca, service_code, private_json = sys.argv[1:5]
private = jwk.JWK.from_json(private_json)
report = {}

# 1. Open a technical session; its secrets come back encrypted to our JWK.
answer = requests.post(f"{base}/api-gateway/authorize_virtual_device", verify=ca,
                       headers={"x-api_version": "V1", "Content-Type": "application/json"},
                       data=json.dumps({"serviceCode": service_code}))
answer.raise_for_status()
token = jwe.JWE()
token.allowed_algs = ["ECDH-ES", "ECDH-ES+A128KW", "ECDH-ES+A192KW", "ECDH-ES+A256KW", "A128GCM", "A192GCM", "A256GCM"]
token.deserialize(answer.json()["jwe"], key=private)
session = json.loads(token.payload)
assert set(session) >= {"refreshToken", "authToken", "deviceId", "serverPublic", "tokenExpirationDateTime"}, session
assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{4} \+0000", session["tokenExpirationDateTime"]), session
server_public = jwk.JWK(**session["serverPublic"])
assert server_public.key_curve == "P-384" and not server_public.has_private
report["session"] = {"deviceId": session["deviceId"], "expires": session["tokenExpirationDateTime"]}

headers = {"x-api_version": "1", "x-device_id": session["deviceId"], "x-refresh_token": session["refreshToken"]}

# 2. The session authenticates like a key.
test = requests.get(f"{base}/v1/auth/test", verify=ca, headers=headers)
report["auth_test"] = {"status": test.status_code, "body": test.json()}

# 3. An encrypted call: the body encrypted to serverPublic (joserfc), the answer encrypted back to us.
payload = json.dumps({"amount": "12.50", "currency": "UAH"})
body = jfc_jwe.encrypt_compact({"alg": "ECDH-ES+A256KW", "enc": "A256GCM"}, payload, ECKey.import_key(session["serverPublic"]),
                                algorithms=["ECDH-ES+A256KW", "A256GCM"])
call = requests.post(f"{base}/api-gateway/payments/create", verify=ca, data=body,
                     headers={**headers, "Content-Type": "text/plain"})
report["encrypted_call"] = {"status": call.status_code, "content_type": call.headers.get("Content-Type")}
opened = jfc_jwe.decrypt_compact(call.text, ECKey.import_key(json.loads(private_json)), algorithms=["ECDH-ES+A256KW", "A256GCM"])
report["encrypted_call"]["answer"] = json.loads(opened.plaintext)

# 4. A wrong refresh token is refused with the bank's code.
wrong = requests.get(f"{base}/v1/auth/test", verify=ca, headers={**headers, "x-refresh_token": "x" * 43})
report["wrong_token"] = {"status": wrong.status_code, "code": wrong.json().get("code")}
print(json.dumps(report))
