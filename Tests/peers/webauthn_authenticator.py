#!/usr/bin/env python3
"""A software WebAuthn authenticator and client (Python `cryptography`, CBOR from `fido2`), for tests.

Reads one JSON request on stdin and prints one JSON answer; binary values are base64url.

  {"op": "create", "options": <creation options as the server sent them>, "origin": "https://…",
   "alg": -7 | -257, "attestation": "none" | "packed-self" | "packed-x5c" | "fido-u2f",
   "rp_id": <optional override>, "type": <optional override>, "sign_count": 0}
    -> {"credential_id", "client_data", "attestation_object", "key" (PKCS#8 PEM)}

  {"op": "get", "options": <request options>, "origin": "https://…", "credential_id", "key", "alg",
   "sign_count": N, "rp_id": <optional override>, "corrupt_signature": false, "user_present": true}
    -> {"credential_id", "client_data", "authenticator_data", "signature"}

It behaves like a browser plus a CTAP2 authenticator, and lets a test lie where an attacker would
(another origin or RP ID, a counter that does not advance, a damaged signature).
"""
import base64
import datetime
import hashlib
import json
import os
import struct
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID
from fido2 import cbor


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64u(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def cose(public_key, alg):
    if alg == -7:
        numbers = public_key.public_numbers()
        return {1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")}
    numbers = public_key.public_numbers()
    return {1: 3, 3: -257, -1: numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big"), -2: numbers.e.to_bytes(3, "big")}


def sign(private_key, alg, data):
    if alg == -7:
        return private_key.sign(data, ec.ECDSA(hashes.SHA256()))
    return private_key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def client_data(kind, challenge, origin):
    return json.dumps({"type": kind, "challenge": challenge, "origin": origin, "crossOrigin": False}, separators=(",", ":")).encode()


def flags(user_present=True, user_verified=True, attested=False):
    return (0x01 if user_present else 0) | (0x04 if user_verified else 0) | (0x40 if attested else 0)


def create(request):
    options = request["options"]
    alg = request.get("alg", -7)
    rp_id = request.get("rp_id") or options["rp"]["id"]
    if alg == -7:
        key = ec.generate_private_key(ec.SECP256R1())
    else:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    credential_id = os.urandom(32)
    attested = bytes(16) + struct.pack(">H", len(credential_id)) + credential_id + cbor.encode(cose(key.public_key(), alg))
    auth_data = (hashlib.sha256(rp_id.encode()).digest() + bytes([flags(attested=True)])
                 + struct.pack(">I", request.get("sign_count", 0)) + attested)
    data = client_data(request.get("type", "webauthn.create"), options["challenge"], request["origin"])
    signed = auth_data + hashlib.sha256(data).digest()
    kind = request.get("attestation", "none")
    if kind == "none":
        fmt, statement = "none", {}
    elif kind == "packed-self":
        fmt, statement = "packed", {"alg": alg, "sig": sign(key, alg, signed)}
    elif kind.startswith("packed-x5c"):
        # "packed-x5c" as an authenticator vendor makes it; "-no-ou" and "-other-aaguid" break one rule each.
        attestation_key = ec.generate_private_key(ec.SECP256R1())
        unit = "Authenticator Attestation" if kind != "packed-x5c-no-ou" else "Sales"
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test Authenticator Attestation"),
                          x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit)])
        aaguid = bytes(16) if kind != "packed-x5c-other-aaguid" else bytes(range(16))
        now = datetime.datetime.now(datetime.timezone.utc)
        certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(attestation_key.public_key())
                       .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
                       .not_valid_after(now + datetime.timedelta(days=365))
                       .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                       .add_extension(x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.45724.1.1.4"), b"\x04\x10" + aaguid), critical=False)
                       .sign(attestation_key, hashes.SHA256()))
        fmt, statement = "packed", {"alg": -7, "sig": sign(attestation_key, -7, signed),
                                    "x5c": [certificate.public_bytes(serialization.Encoding.DER)]}
    else:
        fmt, statement = kind, {"sig": b"\x00", "x5c": []}
    attestation = cbor.encode({"fmt": fmt, "attStmt": statement, "authData": auth_data})
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    return {"credential_id": b64u(credential_id), "client_data": b64u(data), "attestation_object": b64u(attestation), "key": pem}


def get(request):
    options = request["options"]
    alg = request.get("alg", -7)
    rp_id = request.get("rp_id") or options["rpId"]
    key = serialization.load_pem_private_key(request["key"].encode(), password=None)
    auth_data = (hashlib.sha256(rp_id.encode()).digest() + bytes([flags(user_present=request.get("user_present", True))])
                 + struct.pack(">I", request.get("sign_count", 0)))
    data = client_data(request.get("type", "webauthn.get"), request.get("challenge") or options["challenge"], request["origin"])
    signature = sign(key, alg, auth_data + hashlib.sha256(data).digest())
    if request.get("corrupt_signature"):
        # Sign something else: a well-formed signature that does not cover this assertion.
        signature = sign(key, alg, b"not this assertion")
    return {"credential_id": request["credential_id"], "client_data": b64u(data), "authenticator_data": b64u(auth_data),
            "signature": b64u(signature)}


request = json.load(sys.stdin)
print(json.dumps(create(request) if request["op"] == "create" else get(request)))
