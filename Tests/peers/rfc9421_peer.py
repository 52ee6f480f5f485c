#!/usr/bin/env python3
"""RFC 9421 foreign peer on the `http-message-signatures` package.

  rfc9421_peer.py sign ALG PRIVATE_PEM KEYID URL BODY   -> JSON of the signed request's headers
  rfc9421_peer.py verify ALG PUBLIC_PEM URL HEADERS_JSON BODY -> exit 0 when the signature verifies
ALG is one of ed25519, ecdsa-p256-sha256, ecdsa-p384-sha384, rsa-pss-sha512, rsa-v1_5-sha256.
The request is a POST with a JSON body; an empty BODY means a GET without body.
"""
import json
import sys

import requests
from cryptography.hazmat.primitives import serialization
from http_message_signatures import HTTPMessageSigner, HTTPMessageVerifier, HTTPSignatureKeyResolver, algorithms

ALGORITHMS = {
    "ed25519": algorithms.ED25519, "ecdsa-p256-sha256": algorithms.ECDSA_P256_SHA256,
    "ecdsa-p384-sha384": algorithms.ECDSA_P384_SHA384, "rsa-pss-sha512": algorithms.RSA_PSS_SHA512,
    "rsa-v1_5-sha256": algorithms.RSA_V1_5_SHA256,
}


class Keys(HTTPSignatureKeyResolver):
    def __init__(self, pem):
        self.pem = pem

    def resolve_private_key(self, key_id):
        return serialization.load_pem_private_key(self.pem, password=None)

    def resolve_public_key(self, key_id):
        return serialization.load_pem_public_key(self.pem)


def request(url, body, headers=None):
    method = "POST" if body else "GET"
    prepared = requests.Request(method, url, data=body or None, headers=headers or {}).prepare()
    if body:
        prepared.headers["Content-Type"] = "application/json"
    return prepared


def main():
    command, algorithm, pem_path = sys.argv[1], sys.argv[2], sys.argv[3]
    with open(pem_path, "rb") as handle:
        keys = Keys(handle.read())
    if command == "sign":
        key_id, url, body = sys.argv[4], sys.argv[5], sys.argv[6].encode()
        prepared = request(url, body)
        components = ["@method", "@target-uri", "@authority"] + (["content-digest", "content-type"] if body else [])
        signer = HTTPMessageSigner(signature_algorithm=ALGORITHMS[algorithm], key_resolver=keys)
        signer.sign(prepared, key_id=key_id, nonce="n-0123456789", covered_component_ids=components, body=body or None)
        print(json.dumps(dict(prepared.headers)))
    elif command == "verify":
        url, headers, body = sys.argv[4], json.loads(sys.argv[5]), sys.argv[6].encode()
        prepared = request(url, body, headers)
        verifier = HTTPMessageVerifier(signature_algorithm=ALGORITHMS[algorithm], key_resolver=keys)
        verifier.verify(prepared, body=body or None)
    else:
        sys.exit(f"unknown command {command}")


if __name__ == "__main__":
    main()
