#!/usr/bin/env python3
"""joserfc's JWE encrypt and decrypt rates (ECDH-ES+A256KW, A256GCM, P-384) on this process's core.

  joserfc_rate.py SECONDS -> {"encrypt_per_s": ..., "decrypt_per_s": ...}
"""
import json
import sys
import time

from joserfc import jwe
from joserfc.jwk import ECKey

seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
key = ECKey.generate_key("P-384")
public = ECKey.import_key(key.as_dict(private=False))
plaintext = b'{"refreshToken":"0123456789abcdef0123456789abcdef0123456789a","authToken":"0123456789abcdef0123456789abcdef0123456789a","deviceId":"3f1c1d7e-4b7a-4b53-9a61-2b1d6b5c9e01","tokenExpirationDateTime":"2026-11-26 12:00:00.0000 +0000"}'
header = {"alg": "ECDH-ES+A256KW", "enc": "A256GCM"}
algorithms = ["ECDH-ES+A256KW", "A256GCM"]


def rate(body):
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(16):
            body()
        count += 16
    return count / (time.perf_counter() - start)


token = jwe.encrypt_compact(header, plaintext, public, algorithms=algorithms)
print(json.dumps({
    "encrypt_per_s": int(rate(lambda: jwe.encrypt_compact(header, plaintext, public, algorithms=algorithms))),
    "decrypt_per_s": int(rate(lambda: jwe.decrypt_compact(token, key, algorithms=algorithms))),
}))
