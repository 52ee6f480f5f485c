#!/usr/bin/env python3
"""A foreign peer for the provider dialects, written against Python `cryptography` the way the
providers' own SDKs build requests (myPOS PHP SDK Helper::getSignature, AliKassa's signing example).

  provider_peer.py mypos-request PRIVATE_KEY_PEM [SID WALLET KEYINDEX [OUTPUTFORMAT]]
                                                        -> prints a signed IPCPurchase form body
  provider_peer.py mypos-verify PUBLIC_KEY_PEM FORM     -> exit 0 if the form's Signature verifies
  provider_peer.py mypos-verify-json PUBLIC_KEY_PEM JSON -> exit 0 if the JSON answer's Signature verifies
  provider_peer.py alikassa-sign PRIVATE_KEY_PEM sha256|sha1 < body -> prints the Sign header
  provider_peer.py alikassa-verify PUBLIC_KEY_PEM sha256|sha1 SIGN < body -> exit 0 if it verifies
"""
import base64
import json
import sys
import urllib.parse

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding


def private_key(path):
    with open(path, "rb") as handle:
        return serialization.load_pem_private_key(handle.read(), password=None)


def public_key(path):
    with open(path, "rb") as handle:
        data = handle.read()
    if b"CERTIFICATE" in data:
        from cryptography import x509
        return x509.load_pem_x509_certificate(data).public_key()
    return serialization.load_pem_public_key(data)


def mypos_content(values):
    # PHP SDK: base64_encode(implode('-', $params)), then openssl_sign(..., OPENSSL_ALGO_SHA256)
    return base64.b64encode("-".join(values).encode("utf-8"))


def php_values(value):
    # PHP SDK Helper::getValuesFromMultiDimensionalArray over json_decode($x, true), then implode:
    # depth-first in document order; true is "1", false and null are "".
    if isinstance(value, dict):
        for item in value.values():
            yield from php_values(item)
    elif isinstance(value, list):
        for item in value:
            yield from php_values(item)
    elif value is True:
        yield "1"
    elif value is False or value is None:
        yield ""
    elif isinstance(value, float):
        text = repr(value)  # PHP prints 1.5 for 1.50 and 10 for 10.0
        yield text.rstrip("0").rstrip(".") if "." in text and "e" not in text else text
    else:
        yield str(value)


def main():
    command = sys.argv[1]
    if command == "mypos-request":
        key = private_key(sys.argv[2])
        sid, wallet, key_index = (sys.argv[3:6] if len(sys.argv) >= 6 else ("000000000000010", "61938166610", "1"))
        params = [
            ("IPCmethod", "IPCPurchase"), ("IPCVersion", "1.4"), ("IPCLanguage", "EN"),
            ("SID", sid), ("WalletNumber", wallet), ("Amount", "23.45"),
            ("Currency", "EUR"), ("OrderID", "order-ü 1&2=3+4"), ("URL_OK", "https://shop.example/ok?a=1&b=2"),
            ("URL_Cancel", "https://shop.example/cancel"), ("URL_Notify", "https://shop.example/notify"),
            ("CardTokenRequest", "0"), ("KeyIndex", key_index), ("PaymentParametersRequired", "3"),
            ("CustomerEmail", ""), ("Note", "a - dash"),
        ]
        if len(sys.argv) >= 7:
            params.append(("OutputFormat", sys.argv[6]))
        signature = key.sign(mypos_content(v for _, v in params), padding.PKCS1v15(), hashes.SHA256())
        params.append(("Signature", base64.b64encode(signature).decode()))
        print(urllib.parse.urlencode(params))  # form encoding like PHP's http_build_query
    elif command == "mypos-verify":
        params = urllib.parse.parse_qsl(sys.argv[3], keep_blank_values=True)
        signature = base64.b64decode(dict(params)["Signature"])
        content = mypos_content(v for k, v in params if k != "Signature")
        try:
            public_key(sys.argv[2]).verify(signature, content, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            sys.exit(1)
    elif command == "mypos-verify-json":
        document = json.loads(sys.argv[3])
        signature = base64.b64decode(document.pop("Signature"))
        content = mypos_content(php_values(document))
        try:
            public_key(sys.argv[2]).verify(signature, content, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            sys.exit(1)
    elif command == "alikassa-sign":
        digest = hashes.SHA1() if sys.argv[3] == "sha1" else hashes.SHA256()
        body = sys.stdin.buffer.read()
        print(base64.b64encode(private_key(sys.argv[2]).sign(body, padding.PKCS1v15(), digest)).decode())
    elif command == "alikassa-verify":
        digest = hashes.SHA1() if sys.argv[3] == "sha1" else hashes.SHA256()
        body = sys.stdin.buffer.read()
        try:
            public_key(sys.argv[2]).verify(base64.b64decode(sys.argv[4]), body, padding.PKCS1v15(), digest)
        except InvalidSignature:
            sys.exit(1)
    else:
        sys.exit(f"unknown command {command}")


if __name__ == "__main__":
    main()
