#!/usr/bin/env bash
# Writes the seed corpus (Tests/Fuzz/Corpus/<Target>/): small real inputs made with openssl and Python's
# `cryptography`, signed or encrypted with the fuzz-only keys in Tests/Fuzz/keys/ where the target checks
# a signature or decrypts. The seeds are checked in; run this only to remake them.
set -euo pipefail
cd "$(dirname "$0")"
C=Corpus
rm -rf "$C" && mkdir -p "$C"/{FuzzCertificates,FuzzEncryptedPKCS8,FuzzPublicKeyImport,FuzzJWK,FuzzJWE,FuzzHTTPSignatures,FuzzMyPOSForm,FuzzOrderedJSON,FuzzMultipart}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
ossl() { openssl "$@" 2>/dev/null; }

# A small CA, an intermediate and a leaf (EC P-256), and a self-signed RSA 2048 certificate.
ossl ecparam -name prime256v1 -genkey -noout -out "$T/ca.key"
ossl req -x509 -new -key "$T/ca.key" -subj "/CN=Fuzz Root" -days 3650 -out "$T/ca.pem" -addext basicConstraints=critical,CA:TRUE
ossl ecparam -name prime256v1 -genkey -noout -out "$T/int.key"
ossl req -new -key "$T/int.key" -subj "/CN=Fuzz Intermediate" -out "$T/int.csr"
printf 'basicConstraints=critical,CA:TRUE\n' > "$T/ca.ext"
ossl x509 -req -in "$T/int.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial -days 3650 -extfile "$T/ca.ext" -out "$T/int.pem"
ossl ecparam -name prime256v1 -genkey -noout -out "$T/leaf.key"
ossl pkcs8 -topk8 -nocrypt -in "$T/leaf.key" -out "$T/leaf8.key"
ossl req -new -key "$T/leaf.key" -subj "/CN=shop.example" -out "$T/leaf.csr"
printf 'subjectAltName=DNS:shop.example,IP:192.0.2.1,IP:2001:db8::1\n' > "$T/leaf.ext"
ossl x509 -req -in "$T/leaf.csr" -CA "$T/int.pem" -CAkey "$T/int.key" -CAcreateserial -days 825 -extfile "$T/leaf.ext" -out "$T/leaf.pem"
ossl req -x509 -newkey rsa:2048 -nodes -keyout "$T/rsa.key" -subj "/CN=rsa.example" -days 365 -out "$T/rsa.pem"
ossl crl2pkcs7 -nocrl -certfile "$T/leaf.pem" -certfile "$T/int.pem" -out "$T/bundle.p7b"
ossl crl2pkcs7 -nocrl -certfile "$T/leaf.pem" -certfile "$T/int.pem" -outform DER -out "$T/bundle.p7b.der"

D=$C/FuzzCertificates
cat "$T/leaf.pem" "$T/int.pem" "$T/leaf8.key" > $D/combined.pem
cp "$T/rsa.pem" $D/rsa-self-signed.pem
ossl x509 -in "$T/leaf.pem" -outform DER -out $D/leaf.der
cp "$T/bundle.p7b" $D/bundle.p7b
cp "$T/bundle.p7b.der" $D/bundle-der.p7b
ossl ecparam -name prime256v1 -out "$T/params.pem"
cat "$T/params.pem" "$T/leaf.key" "$T/int.pem" "$T/leaf.pem" > $D/ec-params-key-chain-reordered.pem
# Three files in one input, split by the target on 00 FF 00.
{ cat "$T/leaf.pem"; printf '\x00\xff\x00'; cat "$T/leaf8.key"; printf '\x00\xff\x00'; cat "$T/int.pem" "$T/ca.pem"; } > $D/three-files
ossl pkcs8 -topk8 -v2 aes-256-cbc -iter 1000 -passout pass:fuzz -in "$T/leaf.key" -out $D/encrypted-key.pem

D=$C/FuzzEncryptedPKCS8
ossl pkcs8 -topk8 -v2 aes-256-cbc -iter 1000 -passout pass:fuzz -in "$T/leaf.key" -outform DER -out $D/aes256-sha256.der
ossl pkcs8 -topk8 -v2 aes-128-cbc -v2prf hmacWithSHA1 -iter 2048 -passout pass:fuzz -in "$T/leaf.key" -outform DER -out $D/aes128-sha1.der
ossl pkcs8 -topk8 -v2 aes-256-cbc -iter 600000 -passout pass:fuzz -in "$T/rsa.key" -outform DER -out $D/rsa-600000-rounds.der
ossl pkcs8 -topk8 -v2 aes-256-cbc -iter 1000 -passout pass:wrong -in "$T/leaf.key" -outform DER -out $D/wrong-passphrase.der
ossl pkcs8 -topk8 -v2 des3 -iter 1000 -passout pass:fuzz -in "$T/leaf.key" -outform DER -out $D/des3-unsupported.der

D=$C/FuzzPublicKeyImport
cp "$T/leaf.pem" $D/certificate.pem
cp "$T/bundle.p7b" $D/bundle.p7b
ossl pkey -in "$T/rsa.key" -pubout -out $D/rsa-spki.pem
ossl rsa -in "$T/rsa.key" -RSAPublicKey_out -out $D/rsa-pkcs1.pem
ossl pkey -in "$T/leaf.key" -pubout -outform DER -out $D/p256-spki.der
ossl genpkey -algorithm ed25519 -out "$T/ed.key"
ossl pkey -in "$T/ed.key" -pubout -out $D/ed25519-spki.pem
ossl ecparam -name secp384r1 -genkey -noout -out "$T/p384.key"
ossl pkey -in "$T/p384.key" -pubout > "$T/p384.pub"
cat "$T/p384.pub" "$T/rsa.pem" > $D/two-blocks.pem

python3 - "$C" <<'PY'
import base64, hashlib, json, os, sys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import aes_key_wrap

C = sys.argv[1]
b64u = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
def write(target, name, data):
    with open(os.path.join(C, target, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())

recipient = serialization.load_pem_private_key(open("keys/jwe-recipient-p256.pem", "rb").read(), None)
mypos = serialization.load_pem_private_key(open("keys/mypos-rsa.pem", "rb").read(), None)

def ec_jwk(key, private=False, kid=None):
    n = key.private_numbers() if private else None
    pub = (n.public_numbers if private else key.public_numbers())
    size = (key.curve.key_size + 7) // 8
    jwk = {"kty": "EC", "crv": {256: "P-256", 384: "P-384", 521: "P-521"}[key.curve.key_size],
           "x": b64u(pub.x.to_bytes(size, "big")), "y": b64u(pub.y.to_bytes(size, "big"))}
    if private: jwk["d"] = b64u(n.private_value.to_bytes(size, "big"))
    if kid: jwk["kid"] = kid
    return jwk

# JWKs
write("FuzzJWK", "p256-public.json", json.dumps(ec_jwk(recipient.public_key(), kid="k1", )))
write("FuzzJWK", "p256-private.json", json.dumps(ec_jwk(recipient, private=True)))
p384 = ec.generate_private_key(ec.SECP384R1()); p521 = ec.generate_private_key(ec.SECP521R1())
write("FuzzJWK", "p384-public.json", json.dumps(ec_jwk(p384.public_key())))
write("FuzzJWK", "p521-private.json", json.dumps(ec_jwk(p521, private=True)))
rn = mypos.public_key().public_numbers()
write("FuzzJWK", "rsa-public.json", json.dumps({"kty": "RSA", "n": b64u(rn.n.to_bytes(256, "big")), "e": "AQAB", "alg": "RS256", "use": "sig"}))

# JWEs to the fuzz recipient (RFC 7518 §4.6).
def concat_kdf(z, bits, alg, apu=b"", apv=b""):
    lp = lambda b: len(b).to_bytes(4, "big") + b
    other = lp(alg.encode()) + lp(apu) + lp(apv) + bits.to_bytes(4, "big")
    out = b""; counter = 1
    while len(out) * 8 < bits:
        out += hashlib.sha256(counter.to_bytes(4, "big") + z + other).digest(); counter += 1
    return out[: bits // 8]

def jwe(alg, enc, plaintext, apu=None):
    eph = ec.generate_private_key(ec.SECP256R1())
    z = eph.exchange(ec.ECDH(), recipient.public_key())
    header = {"alg": alg, "enc": enc, "kid": "fuzz-recipient", "epk": ec_jwk(eph.public_key())}
    if apu: header["apu"] = b64u(apu)
    bits = {"A128GCM": 128, "A256GCM": 256}[enc]
    if alg == "ECDH-ES":
        cek = concat_kdf(z, bits, enc, apu or b""); ek = b""
    else:
        wbits = {"ECDH-ES+A128KW": 128, "ECDH-ES+A256KW": 256}[alg]
        kek = concat_kdf(z, wbits, alg, apu or b""); cek = os.urandom(bits // 8); ek = aes_key_wrap(kek, cek)
    protected = b64u(json.dumps(header, separators=(",", ":")).encode())
    iv = os.urandom(12)
    sealed = AESGCM(cek).encrypt(iv, plaintext, protected.encode())
    parts = [json.dumps(header, separators=(",", ":")).encode(), ek, iv, sealed[:-16], sealed[-16:]]
    return protected + "." + ".".join(b64u(p) for p in parts[1:]), parts

for name, alg, enc, apu in [("ecdh-es-a256gcm", "ECDH-ES", "A256GCM", None), ("ecdh-es-a256kw", "ECDH-ES+A256KW", "A256GCM", b"Alice"),
                            ("ecdh-es-a128kw-a128gcm", "ECDH-ES+A128KW", "A128GCM", None)]:
    compact, parts = jwe(alg, enc, b'{"pan":"4111111111111111","exp":"12/29"}', apu)
    write("FuzzJWE", name + ".compact", b"\x00" + compact.encode())           # even first byte: the compact form
    write("FuzzJWE", name + ".parts", b"\x01" + b"\n".join(parts))            # odd first byte: raw parts, base64url'd by the target

# RFC 9421 / RFC 9530 headers.
for name, text in [
    ("input", 'sig1=("@method" "@authority" "@path" "@query" "content-digest" "content-type");created=1700000000;expires=1700000300;keyid="kw_test_key";alg="rsa-v1_5-sha256";nonce="n-1"'),
    ("input-two", 'sig1=("@method" "@target-uri");created=1;keyid="a", sig2=("@request-target" "x-repeated" "@scheme");created=2;keyid="b";alg="ed25519"'),
    ("signature", "sig1=:" + base64.b64encode(os.urandom(256)).decode() + ":, sig2=:AAEC:"),
    ("digest", "sha-256=:" + base64.b64encode(hashlib.sha256(b"sha-256=:x:").digest()).decode() + ":, sha-512=:" + base64.b64encode(hashlib.sha512(b"").digest()).decode() + ":"),
]:
    write("FuzzHTTPSignatures", name, text)

# myPOS IPC forms, signed with the fuzz myPOS key.
from urllib.parse import quote
def mypos_form(pairs):
    content = base64.b64encode("-".join(v for _, v in pairs).encode())
    sig = base64.b64encode(mypos.sign(content, padding.PKCS1v15(), hashes.SHA256())).decode()
    return "&".join(quote(k, safe="") + "=" + quote(v, safe="") for k, v in pairs + [("Signature", sig)])
write("FuzzMyPOSForm", "ipc-purchase", mypos_form([("IPCmethod", "IPCPurchase"), ("IPCVersion", "1.4"), ("IPCLanguage", "en"), ("SID", "000000000000010"),
    ("walletnumber", "61938166610"), ("Amount", "23.45"), ("Currency", "EUR"), ("OrderID", "order-1"), ("URL_OK", "https://shop.example/ok?a=1&b=2"),
    ("Note", "caf\u00e9 + 100%"), ("Empty", "")]))
write("FuzzMyPOSForm", "unsigned-plus-and-escapes", "a=1+2&b=%41%42&c&=d&&e=%e2%82%ac&Signature=AAAA")

# JSON: a signed myPOS answer, a JOSE header, numbers and escapes.
def mypos_json(members):
    def leaves(v):
        if isinstance(v, dict):
            for x in v.values(): yield from leaves(x)
        elif isinstance(v, list):
            for x in v: yield from leaves(x)
        elif v is True: yield "1"
        elif v is False or v is None: yield ""
        else: yield str(v)
    content = base64.b64encode("-".join(leaves(members)).encode())
    members = dict(members); members["Signature"] = base64.b64encode(mypos.sign(content, padding.PKCS1v15(), hashes.SHA256())).decode()
    return json.dumps(members)
write("FuzzOrderedJSON", "mypos-answer.json", mypos_json({"Status": 0, "StatusMsg": "Success", "Amount": "23.45", "Items": [{"Name": "A", "Qty": 2}], "Paid": True, "Note": None}))
write("FuzzOrderedJSON", "jose-header.json", '{"alg":"ECDH-ES+A256KW","enc":"A256GCM","epk":{"kty":"EC","crv":"P-256","x":"AA","y":"BB"},"kid":"k\\u00e9\\ud83d\\ude00"}')
write("FuzzOrderedJSON", "numbers.json", '[0,-0,1.50,10.0,-1e+10,2E-3,12345678901234567890123, true, false, null, "\\b\\f\\n\\r\\t\\/\\\\\\""]')
# Multipart bodies as browsers send them: first line the Content-Type, then the body (CRLF lines).
der = open(os.path.join(C, "FuzzCertificates", "leaf.der"), "rb").read()
crlf = lambda *lines: "\r\n".join(lines).encode()
write("FuzzMultipart", "certificate-upload", b"multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW\n"
      + crlf("------WebKitFormBoundary7MA4YWxkTrZu0gW", 'Content-Disposition: form-data; name="csrf"', "", "token",
             "------WebKitFormBoundary7MA4YWxkTrZu0gW", 'Content-Disposition: form-data; name="files"; filename="leaf.cer"',
             "Content-Type: application/pkix-cert", "", "") + der
      + crlf("", "------WebKitFormBoundary7MA4YWxkTrZu0gW", 'Content-Disposition: form-data; name="files"; filename=""',
             "Content-Type: application/octet-stream", "", "", "------WebKitFormBoundary7MA4YWxkTrZu0gW--", ""))
write("FuzzMultipart", "quoted-boundary", b'multipart/form-data; charset=utf-8; boundary="XyZ"\n'
      + crlf("--XyZ", 'Content-Disposition: form-data; name="mode"', "", "test", "--XyZ",
             'content-disposition: form-data; name="note"; filename="a %22b%22.txt"', "", "x--XyZ y", "--XyZ--", ""))
write("FuzzOrderedJSON", "nested.json", "[" * 30 + "{}" + "]" * 30)
PY
ls -la $C/*/ | head -80; du -sh $C
