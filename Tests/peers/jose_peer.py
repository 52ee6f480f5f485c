#!/usr/bin/env python3
"""JOSE foreign peer: JWE with `joserfc` or `jwcrypto`, the libraries merchants' SDKs use.

  jose_peer.py generate CRV                      -> a private EC JWK (JSON) on that curve
  jose_peer.py encrypt LIB PUBLIC_JWK ALG ENC    -> compact JWE of stdin's bytes
  jose_peer.py decrypt LIB PRIVATE_JWK           -> the plaintext of the compact JWE on stdin
  jose_peer.py batch < [{"op","lib","key","alg","enc","data"}, ...] -> JSON list of results
                                                   (one process for many operations; data is text)
LIB is joserfc or jwcrypto.
"""
import base64
import json
import sys

ALL = ["ECDH-ES", "ECDH-ES+A128KW", "ECDH-ES+A192KW", "ECDH-ES+A256KW", "A128GCM", "A192GCM", "A256GCM", "A128CBC-HS256"]


def encrypt(lib, key_json, alg, enc, data):
    if lib == "joserfc":
        from joserfc import jwe
        from joserfc.jwk import ECKey
        return jwe.encrypt_compact({"alg": alg, "enc": enc}, data, ECKey.import_key(json.loads(key_json)), algorithms=[alg, enc])
    from jwcrypto import jwe, jwk
    token = jwe.JWE(data, json.dumps({"alg": alg, "enc": enc}))
    token.add_recipient(jwk.JWK.from_json(key_json))
    return token.serialize(compact=True)


def decrypt(lib, key_json, token):
    token = token.strip()
    if lib == "joserfc":
        from joserfc import jwe
        from joserfc.jwk import ECKey
        header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
        return jwe.decrypt_compact(token, ECKey.import_key(json.loads(key_json)), algorithms=[header["alg"], header["enc"]]).plaintext
    from jwcrypto import jwe, jwk
    result = jwe.JWE()
    result.allowed_algs = ALL
    result.deserialize(token, key=jwk.JWK.from_json(key_json))
    return result.payload


def main():
    command = sys.argv[1]
    if command == "batch":
        results = []
        for task in json.load(sys.stdin):
            if task["op"] == "encrypt":
                results.append(encrypt(task["lib"], task["key"], task["alg"], task["enc"], task["data"].encode()))
            else:
                results.append(decrypt(task["lib"], task["key"], task["data"]).decode())
        print(json.dumps(results))
        return
    if command == "generate":
        from jwcrypto import jwk
        print(jwk.JWK.generate(kty="EC", crv=sys.argv[2]).export_private())
        return
    lib, key_json = sys.argv[2], sys.argv[3]
    data = sys.stdin.buffer.read()
    if lib == "joserfc":
        from joserfc import jwe
        from joserfc.jwk import ECKey
        key = ECKey.import_key(json.loads(key_json))
        if command == "encrypt":
            alg, enc = sys.argv[4], sys.argv[5]
            print(jwe.encrypt_compact({"alg": alg, "enc": enc}, data, key, algorithms=[alg, enc]))
        else:
            token = data.decode().strip()
            header = json.loads(__import__("base64").urlsafe_b64decode(token.split(".")[0] + "=="))
            result = jwe.decrypt_compact(token, key, algorithms=[header["alg"], header["enc"]])
            sys.stdout.buffer.write(result.plaintext)
    elif lib == "jwcrypto":
        from jwcrypto import jwe, jwk
        key = jwk.JWK.from_json(key_json)
        if command == "encrypt":
            alg, enc = sys.argv[4], sys.argv[5]
            token = jwe.JWE(data, json.dumps({"alg": alg, "enc": enc}))
            token.add_recipient(key)
            print(token.serialize(compact=True))
        else:
            token = jwe.JWE()
            token.allowed_algs = ["ECDH-ES", "ECDH-ES+A128KW", "ECDH-ES+A192KW", "ECDH-ES+A256KW",
                                  "A128GCM", "A192GCM", "A256GCM", "A128CBC-HS256"]
            token.deserialize(data.decode().strip(), key=key)
            sys.stdout.buffer.write(token.payload)
    else:
        sys.exit(f"unknown library {lib}")


if __name__ == "__main__":
    main()
