#!/usr/bin/env python3
"""Pre-signs COUNT distinct RFC 9421 requests (GET URL, rsa-v1_5-sha256, unique nonces) for wrk.

  presign_rfc9421.py PRIVATE_KEY_PEM KEYID URL COUNT OUT
Writes one line per request: "<Signature-Input value>\t<Signature value>". Uses every core.
The signature base is built by hand (RFC 9421 §2.5) so generation is fast; the tests check the same
base against the http-message-signatures package.
"""
import base64
import multiprocessing
import sys
import time
import uuid

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

PEM, KEYID, URL, COUNT, OUT = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]


def work(count):
    with open(PEM, "rb") as handle:
        key = serialization.load_pem_private_key(handle.read(), password=None)
    created = int(time.time())
    lines = []
    for _ in range(count):
        params = f'("@method" "@target-uri");created={created};keyid="{KEYID}";alg="rsa-v1_5-sha256";nonce="{uuid.uuid4().hex}"'
        base = f'"@method": GET\n"@target-uri": {URL}\n"@signature-params": {params}'
        signature = base64.b64encode(key.sign(base.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()
        lines.append(f"sig1={params}\tsig1=:{signature}:")
    return lines


if __name__ == "__main__":
    workers = multiprocessing.cpu_count()
    with multiprocessing.Pool(workers) as pool:
        chunks = pool.map(work, [COUNT // workers + (1 if i < COUNT % workers else 0) for i in range(workers)])
    with open(OUT, "w") as out:
        for chunk in chunks:
            out.write("\n".join(chunk) + "\n")
