#!/usr/bin/env python3
"""A secret scanner's signing side on Python `cryptography`, as GitHub signs partner reports
(ECDSA P-256 SHA-256 over the raw body, DER signature, base64).

  scanner_peer.py keygen PRIVATE_PEM_PATH      -> writes a new P-256 private key (PKCS#8 PEM), prints the
                                                  public key (SPKI PEM)
  scanner_peer.py sign PRIVATE_PEM_PATH        -> signs stdin's bytes exactly, prints the base64 DER signature
  scanner_peer.py verify PUBLIC_PEM SIGNATURE  -> exit 0 when SIGNATURE verifies over stdin's bytes
"""
import base64
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec


def main():
    command = sys.argv[1]
    if command == "keygen":
        key = ec.generate_private_key(ec.SECP256R1())
        with open(sys.argv[2], "wb") as handle:
            handle.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        sys.stdout.write(key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode())
    elif command == "sign":
        with open(sys.argv[2], "rb") as handle:
            key = serialization.load_pem_private_key(handle.read(), password=None)
        signature = key.sign(sys.stdin.buffer.read(), ec.ECDSA(hashes.SHA256()))
        sys.stdout.write(base64.b64encode(signature).decode())
    elif command == "verify":
        public = serialization.load_pem_public_key(sys.argv[2].encode())
        try:
            public.verify(base64.b64decode(sys.argv[3]), sys.stdin.buffer.read(), ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            sys.exit("signature does not verify")
    else:
        sys.exit(f"unknown command {command}")


if __name__ == "__main__":
    main()
